/**
 * The Kafka failover test once more with security on (issue 13, test 4): three brokers with SASL_SSL on the Kafka
 * listener and mTLS between brokers (raft, controller, replication), the client's SCRAM-SHA-512 credential created
 * from the salted bootstrap file (GREGOR_SCRAM_BOOTSTRAP_FILE). An idempotent KafkaJS producer (TLS + SCRAM, acks=all)
 * writes while the broker leading the most partitions is killed with SIGKILL; KafkaJS reconnects and authenticates to
 * the new leaders; the victim restarts, rejoins over mTLS and catches up. Every acknowledged record is read back once,
 * at its offset. (The gRPC client listener stays plaintext here: the test inspects the cluster through it.)
 */
import { readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, test } from 'vitest'
import type { Admin } from '@gregor/client'
import { type BrokerProcesses, type SecureClusterFiles, adminUser, loopbackHost, prepareSecureCluster, waitFor } from '@gregor/cli'
import { useCluster, waitForIsr } from './cluster-helpers.js'
import { runKafkaJsFailover } from './kafkajs-load.js'

let cluster: BrokerProcesses
let admin: Admin
let files: SecureClusterFiles
const certsDir = join(tmpdir(), `gregor-secure-failover-${process.pid}-${Date.now()}`)

// Registered before useCluster's hooks, so the files exist when the brokers start.
beforeAll(async () => { files = await prepareSecureCluster({ dir: certsDir, brokers: 3, hosts: [loopbackHost()] }) })
useCluster((started, startedAdmin) => { cluster = started; admin = startedAdmin }, {
  tls: { certsDir, securityProtocolMap: 'KAFKA:SASL_SSL,BROKER:SSL' },
  env: { GREGOR_SCRAM_BOOTSTRAP_FILE: join(certsDir, 'scram-bootstrap.json'), GREGOR_SASL_ENABLED_MECHANISMS: 'SCRAM-SHA-512' },
})
afterAll(async () => { await rm(certsDir, { recursive: true, force: true }) })

const topic = 'secure-failover'
const partitions = [0, 1, 2]

describe('KafkaJS over SASL_SSL through a leader failover, brokers on mTLS', () => {
  test('kill -9 of the busiest leader while an authenticated idempotent producer writes: every ack read back once, at its offset', async () => {
    await admin.createTopics([{ topic, numPartitions: partitions.length, replicationFactor: 3 }])
    await waitForIsr(cluster, topic, 3)
    await waitFor('the bootstrap admin credential', async () =>
      (await admin.describeUserScramCredentials()).some((item) => item.user === adminUser) ? true : undefined, { timeoutMs: 30_000, intervalMs: 100 })
    const figures = await runKafkaJsFailover(cluster, topic, partitions, {
      clientId: 'kafkajs-secure-failover',
      ssl: { ca: [await readFile(files.caFile, 'utf8')] }, sasl: { mechanism: 'scram-sha-512', username: adminUser, password: files.password },
    }, { beforeKill: 100, afterKill: 100, afterRestart: 30 })
    console.log(JSON.stringify({ name: 'kafkajs-secure-failover', ...figures }))
  }, 120_000)
})
