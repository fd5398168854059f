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
import { describe, test } from 'vitest'
import type { Admin } from '@gregor/client'
import type { BrokerProcesses } from '@gregor/cli'
import { useCluster, waitForIsr } from './cluster-helpers.js'
import { runKafkaJsFailover } from './kafkajs-load.js'

let cluster: BrokerProcesses
let admin: Admin

useCluster((started, startedAdmin) => { cluster = started; admin = startedAdmin })

const topic = 'kafkajs-failover'
const partitions = [0, 1, 2]

describe('KafkaJS through a leader failover', () => {
  test('kill -9 of the busiest leader while an idempotent KafkaJS producer writes: every ack read back once, at its offset', async () => {
    await admin.createTopics([{ topic, numPartitions: partitions.length, replicationFactor: 3 }])
    await waitForIsr(cluster, topic, 3)
    const figures = await runKafkaJsFailover(cluster, topic, partitions, { clientId: 'kafkajs-failover' }, { beforeKill: 300, afterKill: 300, afterRestart: 100 })
    console.log(JSON.stringify({ name: 'kafkajs-failover', ...figures }))
  }, 240_000)
})
