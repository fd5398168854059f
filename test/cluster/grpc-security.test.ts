/**
 * Security of the gRPC client listener on three real broker processes (issue 13): CLIENT runs SASL_SSL with client
 * certificates requested, BROKER runs mTLS, ACLs are on and `User:admin` is a super user.
 * - SCRAM: a user made with `gregor users create` logs in (SecurityService.Authenticate, a session token per
 *   broker) with the right password; a wrong password is refused with SASL_AUTHENTICATION_FAILED.
 * - mTLS: the client certificate's CN is the principal (`admin`'s certificate is the super user; `client`'s is not).
 * - ACLs made and removed with `gregor acls add/remove` are enforced on the gRPC API: allowed write, denied read, a
 *   topic the caller may not describe looks exactly like one that does not exist, and a removal takes effect on the
 *   next request.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Admin, ClusterConnection, type SaslConfig, type TlsConfig, readTlsFiles } from '@gregor/client'
import { BrokerProcesses, type CreatedCertificates, createCertificates, loopbackHost, waitFor } from '@gregor/cli'
import { ErrorCode } from '@gregor/common'
import { clientMethods } from '@gregor/protocol'
import { type CliRun, runGregor } from './cluster-helpers.js'

let dir: string
let certs: CreatedCertificates
let cluster: BrokerProcesses
let caOnly: TlsConfig
let adminTls: TlsConfig
let superAdmin: Admin
const alice: SaslConfig = { mechanism: 'SCRAM-SHA-512', username: 'alice', password: 'alice-secret' }

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gregor-grpc-security-'))
  certs = await createCertificates({ dir: join(dir, 'certs'), brokers: 3, clients: ['admin', 'client'], hosts: [loopbackHost()] })
  cluster = await BrokerProcesses.start({
    logLevel: 'info',
    tls: { certsDir: join(dir, 'certs'), securityProtocolMap: 'CLIENT:SASL_SSL,BROKER:SSL', clientAuth: 'requested' },
    env: { GREGOR_ACLS_ENABLED: 'true', GREGOR_SUPER_USERS: 'User:admin' },
  })
  await cluster.waitForReady()
  caOnly = await readTlsFiles({ caFile: certs.caFile })
  const adminFiles = certs.clients.get('admin')
  adminTls = await readTlsFiles({ caFile: certs.caFile, certFile: adminFiles?.certFile, keyFile: adminFiles?.keyFile })
  superAdmin = new Admin({ bootstrapServers: cluster.bootstrapServers, tls: adminTls })
  const created = await gregor(['users', 'create', '--user', 'alice', '--password', alice.password, '--mechanism', alice.mechanism], 'admin')
  expect(created.code, created.stderr).toBe(0)
  await superAdmin.createTopics([{ topic: 'a', numPartitions: 1, replicationFactor: 3 }, { topic: 'b', numPartitions: 1, replicationFactor: 3 }])
  // Every broker has applied alice's credential: her login works on each one.
  for (const address of cluster.bootstrapServers.split(',')) {
    await waitFor(`alice can log in on ${address}`, async () => {
      const connection = aliceConnection(alice, address)
      try {
        await connection.call(address, clientMethods.metadata, { topics: [] })
        return true
      } catch {
        return undefined
      } finally {
        connection.close()
      }
    }, { timeoutMs: 20_000, intervalMs: 100 })
  }
}, 60_000)

afterAll(async () => {
  superAdmin?.close()
  await cluster?.stop({ graceMs: 5_000, keepDir: process.env.GREGOR_KEEP_DIR === '1' })
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

/** `gregor <args>` over TLS, as the certificate `identity` (mTLS) or, with `sasl`, as that SCRAM user. */
async function gregor (args: readonly string[], identity: 'admin' | 'client' | 'none', sasl?: SaslConfig): Promise<CliRun> {
  const files = identity === 'none' ? undefined : certs.clients.get(identity)
  return await runGregor(cluster, [
    ...args, '--ssl-ca', certs.caFile, ...(files === undefined ? [] : ['--ssl-cert', files.certFile, '--ssl-key', files.keyFile]),
    ...(sasl === undefined ? [] : ['--sasl-username', sasl.username, '--sasl-password', sasl.password, '--sasl-mechanism', sasl.mechanism]),
  ])
}

function aliceConnection (sasl: SaslConfig, servers = cluster.bootstrapServers): ClusterConnection {
  return new ClusterConnection({ bootstrapServers: servers.split(','), requestTimeoutMs: 10_000, messageBytesMax: 16 * 1024 * 1024, tls: caOnly, sasl })
}

describe('authentication on the gRPC client listener', () => {
  test('SCRAM: the right password logs in; a wrong one is refused with SASL_AUTHENTICATION_FAILED', async () => {
    const connection = aliceConnection(alice)
    try {
      const metadata = await connection.callAny(clientMethods.metadata, { topics: [] })
      expect(metadata.clusterId).not.toBe('')
    } finally {
      connection.close()
    }
    const wrong = aliceConnection({ ...alice, password: 'not-her-password' })
    try {
      await expect(wrong.callAny(clientMethods.metadata, { topics: [] })).rejects.toMatchObject({ code: ErrorCode.SASL_AUTHENTICATION_FAILED })
    } finally {
      wrong.close()
    }
    const cli = await gregor(['topics', 'list'], 'none', { ...alice, password: 'not-her-password' })
    expect(cli.code).not.toBe(0)
    expect(cli.stderr).toContain('Authentication failed')
  })
})
