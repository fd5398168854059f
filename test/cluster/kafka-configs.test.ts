/**
 * A topic's configs change after creation, on three real broker processes (issue 11): IncrementalAlterConfigs as a
 * raw Kafka request (KafkaJS 2.2.4's `alterConfigs` sends AlterConfigs, key 33, which Gregor does not serve; kcat
 * has no incremental alter), then KafkaJS's DescribeConfigs shows the value as a dynamic topic config; the native
 * `gregor topics alter --config`; and min.insync.replicas raised to 3 on a live RF 3 topic refuses acks=all with
 * NOT_ENOUGH_REPLICAS once one broker is killed.
 */
import { Kafka, logLevel } from 'kafkajs'
import { describe, expect, test } from 'vitest'
import { type BrokerProcesses, waitFor } from '@gregor/cli'
import { ApiKey } from '@gregor/kafka-protocol'
import { RawKafkaClient } from '../../packages/broker/src/listeners/kafka/testing/raw-kafka-client.js'
import { describePartitions, runGregor, useCluster, waitForIsr } from './cluster-helpers.js'

let cluster: BrokerProcesses

useCluster((started) => { cluster = started })

function kafkaJs (): Kafka {
  return new Kafka({
    clientId: 'kafka-configs-test', brokers: cluster.kafkaBootstrapServers.split(','), logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1_000 },
  })
}

async function incrementalAlter (address: string, resources: Array<{ resourceType: number; resourceName: string; configs: Array<{ name: string; configOperation: number; value: string | null }> }>) {
  const [host = '127.0.0.1', port = '0'] = address.split(':')
  const client = await RawKafkaClient.connect(Number(port), host)
  try {
    client.write(RawKafkaClient.frame(ApiKey.IncrementalAlterConfigs, 1, 5, { resources, validateOnly: false }))
    return (await client.response(ApiKey.IncrementalAlterConfigs, 1)).body
  } finally {
    client.close()
  }
}

describe('topic configs change after creation', () => {
  test('IncrementalAlterConfigs and gregor topics alter --config change a live topic; DescribeConfigs shows them; min ISR 3 refuses acks=all with a broker down', async () => {
    const kafka = kafkaJs()
    const admin = kafka.admin()
    await admin.connect()
    const topic = 'kafka-configs-orders'
    try {
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true })).toBe(true)
      await waitForIsr(cluster, topic, 3)
      const address = cluster.brokers[0]?.kafkaAddress ?? ''
      const altered = await incrementalAlter(address, [
        { resourceType: 2, resourceName: topic, configs: [{ name: 'retention.ms', configOperation: 0, value: '120000' }, { name: 'min.insync.replicas', configOperation: 0, value: '3' }] },
        { resourceType: 4, resourceName: '1', configs: [{ name: 'log.retention.ms', configOperation: 0, value: '1' }] },
        { resourceType: 2, resourceName: 'kafka-configs-missing', configs: [{ name: 'retention.ms', configOperation: 0, value: '1' }] },
      ])
      expect(altered.responses.map((r) => [r.resourceName, r.errorCode])).toEqual([[topic, 0], ['1', 42], ['kafka-configs-missing', 3]])
      const described = async (): Promise<Map<string, { configValue: string; configSource: number }>> => {
        const configs = await admin.describeConfigs({ resources: [{ type: 2, name: topic }], includeSynonyms: false })
        return new Map(configs.resources[0]?.configEntries.map((entry) => [entry.configName, entry]))
      }
      await waitFor('every broker has the change', async () => (await described()).get('retention.ms')?.configValue === '120000' ? true : undefined)
      expect((await described()).get('retention.ms')).toMatchObject({ configValue: '120000', configSource: 1 })
      expect((await described()).get('min.insync.replicas')).toMatchObject({ configValue: '3', configSource: 1 })

      const cli = await runGregor(cluster, ['topics', 'alter', '--topic', topic, '--config', 'segment.ms=3600000', '--delete-config', 'retention.ms'])
      expect(cli.code).toBe(0)
      expect(cli.stdout).toMatch(/^Updated configs of topic kafka-configs-orders: .*retention\.ms=604800000.*segment\.ms=3600000/)
      const bad = await runGregor(cluster, ['topics', 'alter', '--topic', topic, '--config', 'segment.bytes=tiny'])
      expect(bad.code).not.toBe(0)
      expect(bad.stderr).toMatch(/INVALID_CONFIG/)
      await waitFor('the CLI change is visible', async () => (await described()).get('segment.ms')?.configValue === '3600000' ? true : undefined)
      expect((await described()).get('retention.ms')).toMatchObject({ configValue: '604800000', configSource: 5 })

      // min.insync.replicas is 3: with one follower killed, acks=all is refused although two replicas are alive.
      const [partition] = await describePartitions(cluster, topic)
      const victim = partition?.replicas.find((id) => id !== partition.leader) ?? 0
      await cluster.kill(victim)
      await waitFor('isr shrinks to 2', async () => (await describePartitions(cluster, topic))[0]?.isr.length === 2 ? true : undefined, { timeoutMs: 60_000 })
      const producer = kafka.producer({ retry: { retries: 0 } })
      await producer.connect()
      try {
        const outcome = await producer.send({ topic, acks: -1, messages: [{ value: 'refused' }] }).then(
          () => 'sent',
          (error: { type?: string; originalError?: { type?: string }; cause?: { type?: string } }) => [error.type, error.originalError?.type, error.cause?.type].join(' '),
        )
        expect(outcome).toMatch(/NOT_ENOUGH_REPLICAS/)
        // acks=1 still appends.
        expect(await producer.send({ topic, acks: 1, messages: [{ value: 'accepted' }] })).toHaveLength(1)
      } finally {
        await producer.disconnect()
      }
    } finally {
      await admin.disconnect()
    }
  }, 180_000)
})
