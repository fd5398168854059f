/**
 * The client's `BrokerSession` against a real SecurityService and ClientService in this process (grpc-js over
 * loopback, no TLS): concurrent first calls share one login, every call carries the token and runs as the user, a
 * token the broker forgot (a restart) is replaced by a new login and the call repeated once, and a wrong password is
 * SASL_AUTHENTICATION_FAILED without any other call. The producer's path too (`ClusterConnection.produce` with
 * `sasl`): its ProduceStream opens with the session's token and runs as the user, and a wrong password fails it with
 * SASL_AUTHENTICATION_FAILED.
 */
import { pbkdf2Sync } from 'node:crypto'
import * as grpc from '@grpc/grpc-js'
import { BrokerSession, ClusterConnection } from '@gregor/client'
import { ErrorCode, silentLogger } from '@gregor/common'
import { type ScramCredential, scramCredentialFromSaltedPassword, scramHash } from '@gregor/metadata'
import { clientMethods } from '@gregor/protocol'
import { afterEach, describe, expect, test } from 'vitest'
import { type ClientServiceDeps, addClientService } from './client-service.js'
import { GrpcAuthentication } from './grpc-authentication.js'
import { addSecurityService } from './security-service.js'

const hash = scramHash('SCRAM-SHA-256')
const salt = Buffer.from('fixed-salt-for-tests')
const credential: ScramCredential = scramCredentialFromSaltedPassword(hash, salt, pbkdf2Sync('pw', salt, 4096, hash.bytes, hash.name), 4096)

const cleanups: Array<() => void> = []
afterEach(() => { for (const cleanup of cleanups.splice(0)) cleanup() })

async function serve (
  authentication: () => GrpcAuthentication,
): Promise<{ address: string, principals: string[], logins: () => number, produced: () => number }> {
  const principals: string[] = []
  let logins = 0
  let produced = 0
  const server = new grpc.Server()
  const identify = (call: Parameters<GrpcAuthentication['identify']>[0]): ReturnType<GrpcAuthentication['identify']> => authentication().identify(call)
  addSecurityService(server, {
    authentication: {
      authenticate: (request: never, source: string) => {
        logins++
        return authentication().authenticate(request, source)
      },
    } as unknown as GrpcAuthentication,
    identify,
  })
  addClientService(server, 'CLIENT', {
    clusterId: 'c', image: () => ({ topics: () => [], brokers: () => [], topic: () => undefined }), quorum: () => ({ leaderId: 1 }),
    produce: async (request: { partitions: Array<{ topic: string, partition: number }> }) => ({
      partitions: request.partitions.map(({ topic, partition }) => ({ topic, partition, errorCode: '', baseOffset: produced++ })),
    }),
    identify: (call: Parameters<GrpcAuthentication['identify']>[0]) => {
      const caller = identify(call)
      if (!(caller instanceof Error)) principals.push(caller.principal)
      return caller
    },
  } as unknown as ClientServiceDeps)
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => { if (error === null) resolve(bound); else reject(error) })
  })
  cleanups.push(() => { server.forceShutdown() })
  return { address: `127.0.0.1:${port}`, principals, logins: () => logins / 2, produced: () => produced }
}

function brokerAuthentication (): GrpcAuthentication {
  return new GrpcAuthentication({
    listenerName: 'CLIENT', nowMs: Date.now, logger: silentLogger,
    sasl: { mechanisms: ['SCRAM-SHA-256'], credential: (user) => (user === 'alice' ? credential : undefined) },
  })
}

/** A client connection to `address` as alice (SCRAM-SHA-256) with `password`. */
function connectionTo (address: string, password: string): ClusterConnection {
  const connection = new ClusterConnection({
    bootstrapServers: [address], requestTimeoutMs: 5_000, messageBytesMax: 1024 * 1024, sasl: { mechanism: 'scram-sha-256', username: 'alice', password },
  })
  cleanups.push(() => { connection.close() })
  return connection
}

const produceRequest = { acks: -1, timeoutMs: 5_000, partitions: [{ topic: 't', partition: 0, records: new Uint8Array(0) }] }

function sessionTo (address: string, password: string): BrokerSession {
  const client = new grpc.Client(address, grpc.credentials.createInsecure())
  cleanups.push(() => { client.close() })
  return new BrokerSession(client, { mechanism: 'scram-sha-256', username: 'alice', password })
}

describe('BrokerSession against SecurityService', () => {
  test('one login for concurrent calls; each call runs as the user; a forgotten token means one new login and a retry', async () => {
    let current = brokerAuthentication()
    const broker = await serve(() => current)
    const session = sessionTo(broker.address, 'pw')
    const metadata = async (): Promise<unknown> => await session.unary(clientMethods.metadata, { topics: [] }, 5_000).response
    await Promise.all([metadata(), metadata(), metadata()])
    expect(broker.logins()).toBe(1)
    expect(broker.principals).toEqual(['User:alice', 'User:alice', 'User:alice'])
    current = brokerAuthentication() // the broker restarted: its sessions are gone
    await metadata()
    expect(broker.logins()).toBe(2)
    expect(broker.principals).toHaveLength(4) // the refused attempt never reached the handler
  })

  test('Produce goes on one ProduceStream opened with the token: one login, the stream runs as the user, each request says when it is written', async () => {
    const authentication = brokerAuthentication()
    const broker = await serve(() => authentication)
    const connection = connectionTo(broker.address, 'pw')
    let written = 0
    const responses = await Promise.all([0, 1, 2].map(async () =>
      await connection.produce(broker.address, produceRequest, { onWritten: () => { written++ } })))
    expect(responses.map((response) => response.partitions[0]?.baseOffset)).toEqual([0, 1, 2])
    expect(written).toBe(3)
    expect(broker.logins()).toBe(1)
    // Identified once, when the stream opened (a unary Produce would be identified per call).
    expect(broker.principals).toEqual(['User:alice'])
  })

  test('a wrong password is SASL_AUTHENTICATION_FAILED and no call is made', async () => {
    const authentication = brokerAuthentication()
    const broker = await serve(() => authentication)
    const session = sessionTo(broker.address, 'wrong')
    await expect(session.unary(clientMethods.metadata, { topics: [] }, 5_000).response).rejects.toMatchObject({ code: ErrorCode.SASL_AUTHENTICATION_FAILED })
    await expect(connectionTo(broker.address, 'wrong').produce(broker.address, produceRequest)).rejects.toMatchObject({ code: ErrorCode.SASL_AUTHENTICATION_FAILED })
    expect(broker.principals).toEqual([])
    expect(broker.produced()).toBe(0)
  })
})
