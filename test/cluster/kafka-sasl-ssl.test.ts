/**
 * SASL_SSL on the Kafka listener of three real broker processes (issue 13, test 1): TLS with certificates made by
 * `gregor certs create`'s code, SCRAM users made with `gregor users create --ssl-ca` over the SSL gRPC listener.
 * kcat (security.protocol=sasl_ssl) and KafkaJS (ssl + sasl) produce and consume; a wrong password is refused with
 * SASL_AUTHENTICATION_FAILED; a client that speaks TLS but no SASL cannot produce, and a plaintext client cannot even
 * start. Also the time a client needs to connect and authenticate (one figure in the log, not asserted).
 *
 * The listeners require client certificates (ssl.client.auth=required, with SASL on top: the principal is the SASL
 * user), so the refusals of issue test 1 are all here: an unknown user (SASL_AUTHENTICATION_FAILED, the same message
 * as a wrong password), a plaintext KafkaJS on the TLS port, an expired client certificate and one of another CA
 * (refused in the TLS handshake, before any Kafka request; the broker keeps serving), and a client that
 * trusts another CA refusing the broker. Failed logins are logged with user, address and mechanism, never the password.
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { Kafka, type SASLOptions, logLevel } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { BrokerProcesses, type CreatedCertificates, createCertificates, loopbackHost, waitFor } from '@gregor/cli'
import { runGregor } from './cluster-helpers.js'

const run = promisify(execFile)

let dir: string
let certs: CreatedCertificates
let cluster: BrokerProcesses
let ca: string
/** This cluster's client certificate (CN client), an expired one of the same CA, and one of another CA. */
let client: { cert: string; key: string; certFile: string; keyFile: string }
let expired: { certFile: string; keyFile: string }
let foreign: CreatedCertificates

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gregor-sasl-ssl-'))
  certs = await createCertificates({ dir: join(dir, 'certs'), brokers: 3, clients: ['client'], hosts: [loopbackHost()] })
  foreign = await createCertificates({ dir: join(dir, 'foreign'), brokers: 0, clients: ['client'] })
  ca = await readFile(certs.caFile, 'utf8')
  const files = certs.clients.get('client') as { certFile: string; keyFile: string }
  client = { ...files, cert: await readFile(files.certFile, 'utf8'), key: await readFile(files.keyFile, 'utf8') }
  expired = await expiredClientCertificate(join(dir, 'expired'), certs)
  cluster = await BrokerProcesses.start({
    logLevel: 'info', tls: { certsDir: join(dir, 'certs'), securityProtocolMap: 'KAFKA:SASL_SSL,CLIENT:SSL,BROKER:SSL', clientAuth: 'required' },
  })
  await cluster.waitForReady(undefined, 60_000)
}, 120_000)

afterAll(async () => {
  await cluster?.stop({ graceMs: 5_000, keepDir: process.env.GREGOR_KEEP_DIR === '1' })
  await rm(dir, { recursive: true, force: true })
})

/**
 * A client certificate of `certs`' CA whose validity ended in 2020 (`openssl ca -startdate/-enddate`: the dates
 * `openssl x509` cannot set in OpenSSL 3.0).
 */
async function expiredClientCertificate (expiredDir: string, authority: CreatedCertificates): Promise<{ certFile: string; keyFile: string }> {
  await mkdir(expiredDir, { recursive: true })
  const file = (name: string): string => join(expiredDir, name)
  await writeFile(file('index.txt'), '')
  await writeFile(file('serial'), '01\n')
  await writeFile(file('ca.cnf'), [
    '[ca]', 'default_ca = local', '[local]', `database = ${file('index.txt')}`, `new_certs_dir = ${expiredDir}`, `serial = ${file('serial')}`,
    'default_md = sha256', 'policy = any', '[any]', 'commonName = supplied',
    '[client]', 'basicConstraints = critical,CA:FALSE', 'keyUsage = critical,digitalSignature', 'extendedKeyUsage = clientAuth', '',
  ].join('\n'))
  await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', file('expired.key'),
    '-out', file('expired.csr'), '-subj', '/CN=expired'])
  await run('openssl', ['ca', '-batch', '-config', file('ca.cnf'), '-cert', authority.caFile, '-keyfile', join(dirname(authority.caFile), 'ca.key'),
    '-in', file('expired.csr'), '-out', file('expired.pem'), '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-extensions', 'client', '-notext'])
  return { certFile: file('expired.pem'), keyFile: file('expired.key') }
}

const clientCertificate = (files: { certFile: string; keyFile: string }): string[] =>
  ['-X', `ssl.certificate.location=${files.certFile}`, '-X', `ssl.key.location=${files.keyFile}`]

const kcatSaslSsl = (mechanism: string, user: string, password: string, certificate = client as { certFile: string; keyFile: string }): string[] => [
  '-b', cluster.kafkaBootstrapServers, '-X', 'security.protocol=sasl_ssl', '-X', `ssl.ca.location=${certs.caFile}`, ...clientCertificate(certificate),
  '-X', `sasl.mechanisms=${mechanism}`, '-X', `sasl.username=${user}`, '-X', `sasl.password=${password}`,
]

function kafkaJs (sasl: SASLOptions | undefined, retries = 5, ssl: false | { ca: string[]; cert?: string; key?: string } = { ca: [ca], cert: client.cert, key: client.key }): Kafka {
  return new Kafka({
    clientId: 'kafka-sasl-ssl-test', brokers: cluster.kafkaBootstrapServers.split(','), logLevel: logLevel.NOTHING, connectionTimeout: 3_000,
    ssl, ...(sasl === undefined ? {} : { sasl }), retry: { retries, initialRetryTime: 100, maxRetryTime: 1_000 },
  })
}

/** What a client gets for its first request: 'ok' or its error's name and message. */
async function kafkaJsOutcome (kafka: Kafka): Promise<string> {
  const admin = kafka.admin()
  try {
    await admin.connect()
    await admin.listTopics()
    return 'ok'
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`
  } finally {
    await admin.disconnect()
  }
}

async function kcatOutcome (args: readonly string[]): Promise<string> {
  return await run('kcat', [...args, '-L', '-m', '3'], { timeout: 20_000 }).then(() => 'listed', (error: { stderr?: string }) => error.stderr ?? 'failed')
}

describe('SASL_SSL on the Kafka listener', () => {
  test('users over SSL gRPC; kcat and KafkaJS with SCRAM over TLS produce and consume; wrong password and no SASL refused', async () => {
    const tls = ['--ssl-ca', certs.caFile, '--ssl-cert', client.certFile, '--ssl-key', client.keyFile]
    const created = await runGregor(cluster, ['users', 'create', '--user', 'alice', '--password', 'alice-secret', '--mechanism', 'SCRAM-SHA-512', ...tls])
    expect(created.code, created.stderr).toBe(0)
    expect((await runGregor(cluster, ['topics', 'create', '--topic', 'secure', '--partitions', '1', '--replication-factor', '3', ...tls])).code).toBe(0)
    // Every broker has applied the credential once kcat can list the cluster through each of them.
    for (const address of cluster.kafkaBootstrapServers.split(',')) {
      await waitFor(`alice to log in on ${address}`, async () => {
        const listed = await run('kcat', [...kcatSaslSsl('SCRAM-SHA-512', 'alice', 'alice-secret'), '-b', address, '-L', '-J', '-m', '5'], { timeout: 30_000 })
          .then(({ stdout }) => JSON.parse(stdout) as { brokers: unknown[], topics: Array<{ topic: string }> }, () => undefined)
        return listed?.topics.some((topic) => topic.topic === 'secure') === true ? true : undefined
      }, { timeoutMs: 30_000, intervalMs: 200 })
    }

    const startedMs = performance.now()
    await run('kcat', ['-b', cluster.kafkaBootstrapServers.split(',')[0] as string, ...kcatSaslSsl('SCRAM-SHA-512', 'alice', 'alice-secret').slice(2), '-L', '-m', '5'], { timeout: 30_000 })
    console.log(`kcat -L over SASL_SSL (process start, TLS, SCRAM-SHA-512, metadata): ${Math.round(performance.now() - startedMs)} ms`)

    await new Promise<void>((resolve, reject) => {
      const child = execFile('kcat', [...kcatSaslSsl('SCRAM-SHA-512', 'alice', 'alice-secret'), '-t', 'secure', '-P', '-p', '0'], { timeout: 30_000 },
        (error) => { if (error === null) resolve(); else reject(error) })
      child.stdin?.end('s1\ns2\n')
    })
    const { stdout } = await run('kcat', [...kcatSaslSsl('PLAIN', 'alice', 'alice-secret'), '-t', 'secure', '-C', '-o', 'beginning', '-c', '2', '-e', '-q'], { timeout: 30_000 })
    expect(stdout.split('\n').filter((line) => line !== '')).toEqual(['s1', 's2'])

    const kafka = kafkaJs({ mechanism: 'scram-sha-512', username: 'alice', password: 'alice-secret' })
    const producer = kafka.producer()
    const connectStartMs = performance.now()
    await producer.connect()
    console.log(`KafkaJS producer connect over SASL_SSL (TLS, SCRAM-SHA-512, metadata): ${Math.round(performance.now() - connectStartMs)} ms`)
    await producer.send({ topic: 'secure', acks: -1, messages: [{ value: 'j1' }] })
    await producer.disconnect()
    const consumer = kafka.consumer({ groupId: 'sasl-ssl-group' })
    const seen: string[] = []
    await consumer.connect()
    await consumer.subscribe({ topic: 'secure', fromBeginning: true })
    await consumer.run({ eachMessage: async ({ message }) => { seen.push(message.value?.toString() ?? '') } })
    await waitFor('KafkaJS to read s1, s2, j1', async () => seen.length >= 3 ? true : undefined, { timeoutMs: 30_000 })
    await consumer.disconnect()
    expect(seen).toEqual(['s1', 's2', 'j1'])

    const wrong = kafkaJs({ mechanism: 'scram-sha-512', username: 'alice', password: 'nope' }, 0).producer()
    expect((await wrong.connect().then(() => undefined, (error: Error) => error))?.name).toBe('KafkaJSSASLAuthenticationError')
    await wrong.disconnect()
    const kcatWrong = await run('kcat', [...kcatSaslSsl('SCRAM-SHA-512', 'alice', 'nope'), '-L', '-m', '5'], { timeout: 30_000 })
      .then(() => '', (error: { stderr?: string }) => error.stderr ?? '')
    expect(kcatWrong).toMatch(/Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512/)

    // TLS without SASL: the first request after ApiVersions closes the connection.
    const noSasl = kafkaJs(undefined, 0).producer()
    expect(await noSasl.connect().then(async () => await noSasl.send({ topic: 'secure', messages: [{ value: 'x' }] })).then(() => undefined, (error: Error) => error))
      .toBeInstanceOf(Error)
    await noSasl.disconnect()
    // Neither TLS nor SASL.
    const plaintext = await run('kcat', ['-b', cluster.kafkaBootstrapServers, '-L', '-m', '5'], { timeout: 30_000 }).then(() => 'listed', () => 'refused')
    expect(plaintext).toBe('refused')
  }, 180_000)

  test('refused: an unknown user, a plaintext KafkaJS, an expired or foreign client certificate, a client that trusts another CA', async () => {
    // Runs after the first test: alice exists and can log in on every broker.
    const invalidCredentials = /Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512/
    const [kcatUnknown, kcatExpired, kcatForeign, kcatOtherCa, jsUnknown, jsPlaintext, jsExpired, jsForeign, jsOtherCa] = await Promise.all([
      kcatOutcome(kcatSaslSsl('SCRAM-SHA-512', 'mallory', 'alice-secret')),
      kcatOutcome(kcatSaslSsl('SCRAM-SHA-512', 'alice', 'alice-secret', expired)),
      kcatOutcome(kcatSaslSsl('SCRAM-SHA-512', 'alice', 'alice-secret', foreign.clients.get('client') as { certFile: string; keyFile: string })),
      kcatOutcome(kcatSaslSsl('SCRAM-SHA-512', 'alice', 'alice-secret').map((arg) => arg === `ssl.ca.location=${certs.caFile}` ? `ssl.ca.location=${foreign.caFile}` : arg)),
      kafkaJsOutcome(kafkaJs({ mechanism: 'scram-sha-512', username: 'mallory', password: 'alice-secret' }, 0)),
      kafkaJsOutcome(kafkaJs({ mechanism: 'scram-sha-512', username: 'alice', password: 'alice-secret' }, 0, false)),
      kafkaJsOutcome(kafkaJs({ mechanism: 'scram-sha-512', username: 'alice', password: 'alice-secret' }, 0,
        { ca: [ca], cert: await readFile(expired.certFile, 'utf8'), key: await readFile(expired.keyFile, 'utf8') })),
      kafkaJsOutcome(kafkaJs({ mechanism: 'scram-sha-512', username: 'alice', password: 'alice-secret' }, 0, {
        ca: [ca], cert: await readFile(foreign.clients.get('client')?.certFile as string, 'utf8'), key: await readFile(foreign.clients.get('client')?.keyFile as string, 'utf8'),
      })),
      kafkaJsOutcome(kafkaJs({ mechanism: 'scram-sha-512', username: 'alice', password: 'alice-secret' }, 0, { ca: [await readFile(foreign.caFile, 'utf8')], cert: client.cert, key: client.key })),
    ])
    // An unknown user: the same answer as a wrong password (the broker does not say whether a user exists).
    expect(kcatUnknown).toMatch(invalidCredentials)
    expect(jsUnknown).toMatch(/^KafkaJSSASLAuthenticationError: .*invalid credentials with SASL mechanism SCRAM-SHA-512/)
    // A client speaking plaintext to the TLS port gets no Kafka answer at all.
    expect(jsPlaintext).toMatch(/^KafkaJS(Connection|NumberOfRetriesExceeded|NonRetriable|RequestTimeout)(Error)?: /)
    // The broker refuses these certificates in the TLS handshake (TLS 1.3: the client has sent its certificate and
    // finished when the broker's alert closes the connection, so librdkafka and KafkaJS report a TLS-level close before
    // any Kafka answer; the reason is in the broker's log, below).
    for (const refused of [kcatExpired, kcatForeign]) {
      expect(refused).toMatch(/SSL routines::unexpected eof while reading \(after \d+ms in state APIVERSION_QUERY/)
      expect(refused).toMatch(/Failed to acquire metadata/)
    }
    for (const refused of [jsExpired, jsForeign]) expect(refused).toMatch(/^KafkaJS(Connection|NumberOfRetriesExceeded)(Error)?: (Closed connection|Connection error)/)
    // And a client refuses a broker whose certificate its CA did not sign.
    expect(kcatOtherCa).toMatch(/certificate verify failed/)
    expect(jsOtherCa).toMatch(/Connection error: self-signed certificate in certificate chain/)

    // The brokers logged each refusal with the address (and, for SASL, the user and mechanism), never a password.
    const logs = (await Promise.all(cluster.brokers.map(async (broker) => await readFile(join(cluster.dir, `broker-${broker.nodeId}.log`), 'utf8')))).join('\n')
    const entries = logs.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>)
    const saslFailures = entries.filter((entry) => entry.reason === 'sasl authentication failed')
    expect(saslFailures.some((entry) => JSON.stringify(entry).includes('mallory') && JSON.stringify(entry).includes('SCRAM-SHA-512') && typeof entry.peer === 'string')).toBe(true)
    // Every refusal in the TLS handshake is logged with the peer's address and why (gregor_kafka_tls_handshake_failures_total
    // counts them): a plaintext client, the two client certificates the broker refuses, a client that refuses the broker.
    const handshakeFailures = entries.filter((entry) => entry.msg === 'tls handshake failed')
    expect(handshakeFailures.every((entry) => /^127\.0\.0\.1:\d+$/.test(String(entry.source)))).toBe(true)
    const logged = (reason: string, field: string, value: string): boolean =>
      handshakeFailures.some((entry) => entry.reason === reason && entry[field] === value)
    expect(logged('not_tls', 'code', 'ERR_SSL_WRONG_VERSION_NUMBER')).toBe(true)
    expect(logged('certificate', 'certificateError', 'CERT_HAS_EXPIRED')).toBe(true)
    expect(logged('certificate', 'certificateError', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')).toBe(true)
    expect(logged('certificate', 'opensslReason', 'tlsv1 alert unknown ca')).toBe(true)
    expect(logs).not.toContain('alice-secret')
    // The brokers keep serving.
    expect(await kcatOutcome(kcatSaslSsl('SCRAM-SHA-512', 'alice', 'alice-secret'))).toBe('listed')
  }, 60_000)
})
