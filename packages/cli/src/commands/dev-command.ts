/**
 * `gregor dev [--dir D]`: a local three-broker cluster, each broker in its own OS process (so one can be killed),
 * on 127.0.0.1 with fixed ports: Kafka's protocol 9092-9094 (what every Kafka tutorial and tool assumes), Gregor's gRPC
 * client API 9292-9294 (the `gregor` CLI's default), inter-broker 9192-9194, admin HTTP 8081-8083 (the first of each
 * with `--kafka-port`, `--client-port`, `--broker-port`, `--admin-port`; 0 picks a private loopback address and port,
 * for tests). Prints the Kafka bootstrap servers first, then the gRPC ones, admin URLs and PIDs; Ctrl-C stops all
 * three with a controlled shutdown.
 *
 * `--secure` (docs/security.md, "Operating securely"): the same three brokers with every listener secured — the Kafka
 * and gRPC client listeners SASL_SSL (on gRPC a client certificate may name the principal instead of a SCRAM login),
 * the inter-broker listener SSL with mTLS broker identities, admin HTTPS with a token for everything but health — and ACLs on
 * with `User:admin` the one super user. The files (a local CA and certificates, the admin's password, salted SCRAM
 * bootstrap credential and admin token) are made in `<dir>/certs` by secure-cluster-files.ts and reused on the next
 * run. `ready` is printed once the admin credential exists, followed by the exact kcat, KafkaJS and gregor settings.
 * `npm start` stays plaintext.
 */
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Admin } from '@gregor/client'
import { BrokerProcesses } from '../broker-processes.js'
import { loopbackHost } from '../loopback-address.js'
import { type SecureClusterFiles, adminUser, prepareSecureCluster, secureClientSettings } from '../secure/secure-cluster-files.js'
import { waitFor } from '../wait-for.js'
import { defaultDevClientPort } from './client-args.js'
import { UsageError, integerFlag, parseCommandArgs, runClientCommand } from './command-args.js'

const usage = `usage: gregor dev [--secure] [--dir D] [--log-level L] [--kafka-port 9092] [--client-port 9292] [--broker-port 9192] [--admin-port 8081]
  --secure: TLS everywhere, SASL (SCRAM) on the Kafka listener, ACLs with an admin super user; prints the client settings
`

/** `--secure`'s listener security: SASL_SSL for Kafka's and gRPC clients, mTLS between brokers, HTTPS for admin. */
export const secureDevSecurityProtocolMap = 'KAFKA:SASL_SSL,CLIENT:SASL_SSL,BROKER:SSL,ADMIN:SSL'

/** `--secure`'s broker settings besides TLS: ACLs on, the admin its one super user, the files of secure-cluster-files.ts. */
export function secureDevEnv (files: SecureClusterFiles): Record<string, string> {
  return {
    GREGOR_ACLS_ENABLED: 'true', GREGOR_SUPER_USERS: `User:${adminUser}`, GREGOR_ALLOW_EVERYONE_IF_NO_ACL_FOUND: 'false',
    GREGOR_SCRAM_BOOTSTRAP_FILE: files.scramBootstrapFile, GREGOR_ADMIN_TOKEN_FILE: files.adminTokenFile,
  }
}

export async function devCommand (argv: string[]): Promise<number> {
  return await runClientCommand('dev', usage, async () => await runDev(argv))
}

async function runDev (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    dir: { type: 'string' }, 'log-level': { type: 'string', default: 'info' }, secure: { type: 'boolean' },
    'kafka-port': { type: 'string' }, 'client-port': { type: 'string' }, 'broker-port': { type: 'string' }, 'admin-port': { type: 'string' },
  })
  const problems: string[] = []
  const portFlag = (name: string, text: string | undefined, fallback: number): number => {
    const value = integerFlag(name, text, problems, 0) ?? fallback
    if (value > 65533) problems.push(`--${name} must leave room for three ports (at most 65533, got ${value})`)
    return value
  }
  const ports = {
    kafka: portFlag('kafka-port', values['kafka-port'], 9092),
    client: portFlag('client-port', values['client-port'], defaultDevClientPort),
    broker: portFlag('broker-port', values['broker-port'], 9192),
    admin: portFlag('admin-port', values['admin-port'], 8081),
  }
  if (problems.length > 0) throw new UsageError(problems)
  // Listen before anything starts: a Ctrl-C that arrives while the brokers start must still stop them.
  const stopRequested = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  const secure = values.secure === true
  // A secure cluster's files go next to its data, so the directory must exist before the brokers start.
  const dir = values.dir ?? (secure ? await mkdtemp(join(tmpdir(), 'gregor-dev-secure-')) : undefined)
  // Brokers on a private loopback address (port 0) need it in their certificates too.
  const files = dir === undefined || !secure ? undefined : await prepareSecureCluster({ dir: join(dir, 'certs'), brokers: 3, hosts: [loopbackHost()] })
  const cluster = await BrokerProcesses.start({
    ...(dir === undefined ? {} : { dir }),
    logLevel: values['log-level'],
    ports,
    // A dev cluster notices a killed consumer in 10 s instead of Kafka's 45 (the environment still wins).
    env: { GREGOR_GROUP_SESSION_TIMEOUT_MS: process.env.GREGOR_GROUP_SESSION_TIMEOUT_MS ?? '10000', ...(files === undefined ? {} : secureDevEnv(files)) },
    ...(files === undefined ? {} : { tls: { certsDir: files.certsDir, securityProtocolMap: secureDevSecurityProtocolMap, clientAuth: 'requested' } }),
  })
  process.stdout.write(`gregor dev: three brokers starting, data and logs in ${cluster.dir}\n`)
  for (const broker of cluster.brokers) {
    process.stdout.write(`  broker ${broker.nodeId}  pid ${broker.process?.pid ?? '-'}  kafka ${broker.kafkaAddress}  grpc ${broker.clientAddress}  admin ${broker.adminUrl}  log ${cluster.dir}/broker-${broker.nodeId}.log\n`)
  }
  try {
    await Promise.race([cluster.waitForReady(undefined, 60_000), stopRequested])
    if (files !== undefined) await Promise.race([adminCredentialCreated(cluster, files), stopRequested])
    process.stdout.write(`ready. kafka bootstrap servers: ${cluster.kafkaBootstrapServers}\n`)
    process.stdout.write(`      gregor (grpc) bootstrap servers: ${cluster.bootstrapServers}\n`)
    if (files === undefined) {
      process.stdout.write(`try: kcat -b ${cluster.kafkaBootstrapServers.split(',')[0] ?? ''} -L\n`)
      process.stdout.write(`     npx gregor topics create -b ${cluster.bootstrapServers} --topic demo --partitions 3 --replication-factor 3\n`)
    } else {
      process.stdout.write('secure: Kafka and gRPC SASL_SSL (SCRAM), inter-broker mTLS, admin HTTPS with a token, ACLs on (User:admin is the super user)\n')
      for (const line of secureClientSettings(files, cluster.kafkaBootstrapServers, cluster.bootstrapServers, cluster.brokers[0]?.adminUrl ?? '')) {
        process.stdout.write(`${line}\n`)
      }
    }
  } catch (error) {
    process.stderr.write(`brokers not ready: ${error instanceof Error ? error.message : String(error)} (see the logs above)\n`)
  }
  await stopRequested
  process.stdout.write('stopping the three brokers (controlled shutdown)\n')
  await cluster.stop({ keepDir: true })
  return 0
}

/**
 * Waits until the admin's bootstrap credential is in the metadata (each broker creates it through the controller
 * after it starts), asking over gRPC as the admin's certificate (principal User:admin, a super user).
 */
async function adminCredentialCreated (cluster: BrokerProcesses, files: SecureClusterFiles): Promise<void> {
  const [ca, cert, key] = await Promise.all([readFile(files.caFile), readFile(files.adminCertFile), readFile(files.adminKeyFile)])
  const admin = new Admin({ bootstrapServers: cluster.bootstrapServers, tls: { ca, cert, key } })
  try {
    await waitFor('the admin SCRAM credential', async () => {
      const users = await admin.describeUserScramCredentials().catch(() => [])
      return users.some((item) => item.user === adminUser) ? true : undefined
    }, { timeoutMs: 60_000, intervalMs: 200 })
  } finally {
    admin.close()
  }
}
