/**
 * Kafka's own client through a failover (issue 11, test 2): a KafkaJS idempotent producer (acks -1) writes to a
 * topic of 3 partitions, RF 3, through the Kafka listeners; the broker leading the most partitions is killed with
 * SIGKILL while it produces, then started again. Every record KafkaJS acknowledged must be read back at its
 * acknowledged offset (by `@gregor/client` over gRPC: the two APIs share one log), nothing unsent, nothing twice.
 *
 * KafkaJS meets the dead leader as a connection error (or a request timeout), refreshes its metadata and retries
 * with the same producer id and sequence numbers: a retry of a batch the old leader had already replicated must be
 * answered as a duplicate with its original offset, not appended again.
 */
import { Kafka, logLevel } from 'kafkajs'
import { describe, expect, test } from 'vitest'
import type { Admin } from '@gregor/client'
import type { BrokerProcesses } from '@gregor/cli'
import { describePartitions, expectAckedReadBack, useCluster, waitForIsr } from './cluster-helpers.js'
import { KafkaJsLoad } from './kafkajs-load.js'

let cluster: BrokerProcesses
let admin: Admin

useCluster((started, startedAdmin) => { cluster = started; admin = startedAdmin })

const topic = 'kafkajs-failover'
const partitions = [0, 1, 2]

describe('KafkaJS through a leader failover', () => {
  test('kill -9 of the busiest leader while an idempotent KafkaJS producer writes: every ack read back once, at its offset', async () => {
    await admin.createTopics([{ topic, numPartitions: partitions.length, replicationFactor: 3 }])
    await waitForIsr(cluster, topic, 3)
    const leaders = new Map((await describePartitions(cluster, topic)).map((partition) => [partition.partition, partition.leader]))
    const counts = new Map<number, number>()
    for (const leader of leaders.values()) counts.set(leader, (counts.get(leader) ?? 0) + 1)
    const victim = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0] as number

    const kafka = new Kafka({
      clientId: 'kafkajs-failover', brokers: cluster.kafkaBootstrapServers.split(','), logLevel: logLevel.NOTHING,
      connectionTimeout: 1_000, requestTimeout: 5_000, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1_000 },
    })
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    // One send loop: KafkaJS 2.2.4 takes a partition's sequence numbers when it sends and gives them back when that
    // produce fails (sendMessages.js), so with two sends in flight on one partition the retry of a failed one reuses
    // the other's numbers; the broker then rightly answers it as a duplicate with the other's offset and its record is
    // never stored (seen in CI: kafkajs-306 acknowledged at the offset of kafkajs-303).
    const load = new KafkaJsLoad(producer, 1, topic, partitions)
    try {
      await load.waitForAcks(300, 'acks before the kill')
      await cluster.kill(victim)
      const killedAtMs = Date.now()
      await load.waitForAcks(300, 'acks after the kill')
      const acksAfterKillMs = Date.now() - killedAtMs
      cluster.startBroker(victim)
      await waitForIsr(cluster, topic, 3, 60_000)
      await load.waitForAcks(100, 'acks after the restart')
      await load.stop()
      expect(load.failures).toEqual([])
      expect(new Set(load.acked.map((item) => item.partition))).toEqual(new Set(partitions))
      await expectAckedReadBack(cluster, topic, partitions, load.acked, load.sent)
      console.log(JSON.stringify({ name: 'kafkajs-failover', victim, acked: load.acked.length, sent: load.sent.size, acksAfterKillMs }))
    } finally {
      await load.stop()
      await producer.disconnect()
    }
  }, 240_000)
})
