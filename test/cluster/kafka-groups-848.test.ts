/**
 * KIP-848 consumer groups and group administration over the Kafka listeners of three real broker processes (issue 11):
 * - two @platformatic/kafka consumers with `groupProtocol: 'consumer'` (ConsumerGroupHeartbeat; topics by id, which
 *   they map through Metadata v10+) split the partitions, read every record from their own partitions only, and
 *   when one leaves the other takes its partitions over; ConsumerGroupDescribe (raw request) shows the members,
 *   their epochs and assignments by topic id and name;
 * - DeleteGroups through KafkaJS `admin.deleteGroups`: refused (NON_EMPTY_GROUP) while a member is in the group,
 *   then deleted with its offsets, then GROUP_ID_NOT_FOUND; OffsetDelete (raw) is GROUP_SUBSCRIBED_TO_TOPIC for the
 *   live member's topic and UNKNOWN_TOPIC_OR_PARTITION for no such topic, and through @platformatic/kafka's
 *   `deleteConsumerGroupOffsets` removes one partition's offset once the group is empty;
 * - Metadata's auto-creation (now through the admin part) still creates a topic a KafkaJS producer names.
 */
import { Admin as PlatformaticAdmin, Consumer, stringDeserializers } from '@platformatic/kafka'
import { Kafka, logLevel } from 'kafkajs'
import { describe, expect, test } from 'vitest'
import type { Admin } from '@gregor/client'
import { type BrokerProcesses, waitFor } from '@gregor/cli'
import { ApiKey, type ConsumerGroupDescribeGroup } from '@gregor/kafka-protocol'
import { RawKafkaClient } from '../../packages/broker/src/listeners/kafka/testing/raw-kafka-client.js'
import { useCluster, waitForIsr } from './cluster-helpers.js'

let cluster: BrokerProcesses
let admin: Admin

useCluster((started, startedAdmin) => { cluster = started; admin = startedAdmin })

/** Waits until `condition` holds (a deadline, no sleeps as synchronization); `describe` says what it saw. */
async function until (what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number, describe: () => string | Promise<string>): Promise<void> {
  try {
    await waitFor(what, async () => (await condition()) ? true : undefined, { timeoutMs, intervalMs: 100 })
  } catch (error) {
    throw new Error(`${(error as Error).message}: ${await describe()}`)
  }
}

function kafkaJs (clientId: string): Kafka {
  return new Kafka({
    clientId, brokers: cluster.kafkaBootstrapServers.split(','), logLevel: logLevel.NOTHING,
    retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1_000 },
  })
}

async function createTopic (topic: string, partitions: number): Promise<void> {
  await admin.createTopics([{ topic, numPartitions: partitions, replicationFactor: 3 }])
  await waitForIsr(cluster, topic, 3)
}

async function produce (topic: string, values: readonly string[]): Promise<void> {
  const producer = kafkaJs('kip848-producer').producer()
  await producer.connect()
  try {
    // Keys spread the records over every partition (murmur2 of distinct keys).
    await producer.send({ topic, acks: -1, messages: values.map((value, i) => ({ key: `k${i}-${value}`, value })) })
  } finally {
    await producer.disconnect()
  }
}

/** The group's committed offsets of `topic` through OffsetFetch (KafkaJS admin): partition → offset (-1 none). */
async function committed (groupId: string, topic: string): Promise<Map<number, number>> {
  const kafkaAdmin = kafkaJs('kip848-admin').admin()
  await kafkaAdmin.connect()
  try {
    const [offsets] = await kafkaAdmin.fetchOffsets({ groupId, topics: [topic] })
    return new Map((offsets?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]))
  } finally {
    await kafkaAdmin.disconnect()
  }
}

/** Each partition's log end offset (KafkaJS admin): partition → offset. */
async function endOffsets (topic: string): Promise<Map<number, number>> {
  const kafkaAdmin = kafkaJs('kip848-admin').admin()
  await kafkaAdmin.connect()
  try {
    return new Map((await kafkaAdmin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]))
  } finally {
    await kafkaAdmin.disconnect()
  }
}

/** A raw connection to the coordinator of `groupId` (FindCoordinator v4 asked of the first broker). */
async function coordinatorOf (groupId: string): Promise<RawKafkaClient> {
  const [host, port] = (cluster.kafkaBootstrapServers.split(',')[0] as string).split(':')
  let found: { host: string, port: number } | undefined
  await waitFor(`the coordinator of ${groupId}`, async () => {
    const bootstrap = await RawKafkaClient.connect(Number(port), host)
    try {
      bootstrap.write(RawKafkaClient.frame(ApiKey.FindCoordinator, 4, 1, { key: '', keyType: 0, coordinatorKeys: [groupId] }))
      const [coordinator] = (await bootstrap.response(ApiKey.FindCoordinator, 4)).body.coordinators
      if (coordinator?.errorCode !== 0) return undefined
      found = { host: coordinator.host, port: coordinator.port }
      return true
    } finally {
      bootstrap.close()
    }
  }, { timeoutMs: 30_000, intervalMs: 200 })
  const address = found as { host: string, port: number }
  return await RawKafkaClient.connect(address.port, address.host)
}

async function describeConsumerGroup (groupId: string): Promise<ConsumerGroupDescribeGroup> {
  const client = await coordinatorOf(groupId)
  try {
    client.write(RawKafkaClient.frame(ApiKey.ConsumerGroupDescribe, 0, 7, { groupIds: [groupId], includeAuthorizedOperations: false }))
    const [group] = (await client.response(ApiKey.ConsumerGroupDescribe, 0)).body.groups
    return group as ConsumerGroupDescribeGroup
  } finally {
    client.close()
  }
}

interface Received { readonly partition: number, readonly value: string }

/** A KIP-848 member (@platformatic/kafka, groupProtocol 'consumer') reading `topic` from the beginning. */
async function kip848Member (groupId: string, clientId: string, topic: string): Promise<{ consumer: Consumer<string, string, string, string>, received: Received[], close: () => Promise<void> }> {
  const consumer = new Consumer({
    groupId, clientId, bootstrapBrokers: cluster.kafkaBootstrapServers.split(','), deserializers: stringDeserializers,
    groupProtocol: 'consumer',
  })
  const received: Received[] = []
  const stream = await consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: 200, maxWaitTime: 300 })
  stream.on('data', (message: { partition: number, value: string }) => { received.push({ partition: message.partition, value: message.value }) })
  return {
    consumer,
    received,
    close: async () => {
      await stream.close()
      await consumer.close(true)
    },
  }
}

const partitionsOf = (consumer: Consumer<string, string, string, string>, topic: string): number[] =>
  [...(consumer.assignments?.find((assignment) => assignment.topic === topic)?.partitions ?? [])].sort((a, b) => a - b)

const memberPartitions = (group: ConsumerGroupDescribeGroup): number[][] =>
  group.members.map((member) => member.assignment.topicPartitions.flatMap((tp) => tp.partitions)).map((list) => [...list].sort((a, b) => a - b))

describe('KIP-848 consumer groups and group administration on the Kafka listeners', () => {
  test('two ConsumerGroupHeartbeat members split the partitions and read every record; one leaves, the other takes over', async () => {
    const topic = 'kip848-orders'
    const groupId = `kip848-${process.pid}`
    await createTopic(topic, 4)
    const a = await kip848Member(groupId, 'kip848-a', topic)
    const b = await kip848Member(groupId, 'kip848-b', topic)
    try {
      await until('both members with disjoint assignments covering the 4 partitions', () => {
        const [pa, pb] = [partitionsOf(a.consumer, topic), partitionsOf(b.consumer, topic)]
        return pa.length > 0 && pb.length > 0 && [...pa, ...pb].sort().join() === '0,1,2,3'
      }, 60_000, () => `a ${JSON.stringify(a.consumer.assignments)} b ${JSON.stringify(b.consumer.assignments)}`)
      const [ownedByA, ownedByB] = [partitionsOf(a.consumer, topic), partitionsOf(b.consumer, topic)]

      const group = await describeConsumerGroup(groupId)
      expect([group.errorCode, group.groupState, group.assignorName, group.members.length]).toEqual([0, 'Stable', 'uniform', 2])
      expect(group.members.map((member) => member.clientId).sort()).toEqual(['kip848-a', 'kip848-b'])
      expect(group.members.every((member) => member.memberEpoch === group.assignmentEpoch && member.subscribedTopicNames.includes(topic))).toBe(true)
      expect(memberPartitions(group).flat().sort()).toEqual([0, 1, 2, 3])
      const topicId = group.members[0]?.assignment.topicPartitions[0]?.topicId
      expect(topicId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
      expect(group.members.flatMap((member) => member.assignment.topicPartitions.map((tp) => [tp.topicId, tp.topicName])))
        .toEqual(group.members.map(() => [topicId, topic]))

      const first = Array.from({ length: 40 }, (_, i) => `first-${i}`)
      await produce(topic, first)
      const partitionOf = (value: string): number | undefined => [...a.received, ...b.received].find((r) => r.value === value)?.partition
      const unreadByOwner = (): string[] => first.filter((value) => {
        const partition = partitionOf(value)
        if (partition === undefined) return true
        const owner = ownedByA.includes(partition) ? a : b
        return !owner.received.some((r) => r.value === value)
      })
      await until('every record read by its partition\'s owner', () => unreadByOwner().length === 0, 60_000,
        () => `a read ${a.received.length}, b read ${b.received.length}, unread by their owner: ${unreadByOwner().join()}`)
      // Each member read every record of its own partitions, and both had some. (Not "only its own": a fetch the
      // client sent while it still owned all four partitions may come back after the revocation with records of a
      // partition it gave up; @platformatic/kafka hands those to the application, where Kafka's Java consumer drops
      // them. The coordinator's side, one owner per partition, is what the describe above checks.)
      for (const owned of [ownedByA, ownedByB]) expect(first.some((value) => owned.includes(partitionOf(value) ?? -1))).toBe(true)

      // a leaves (ConsumerGroupHeartbeat with epoch -1): b is given every partition and reads what comes next. The
      // deadline is well under the 45 s session timeout, so it is the leave that moves them, not an expiry.
      await a.close()
      await until('b holds all 4 partitions', () => partitionsOf(b.consumer, topic).join() === '0,1,2,3', 20_000,
        () => JSON.stringify(b.consumer.assignments))
      const after = await describeConsumerGroup(groupId)
      expect([after.groupState, after.members.map((member) => member.clientId), memberPartitions(after)]).toEqual(['Stable', ['kip848-b'], [[0, 1, 2, 3]]])
      expect(after.groupEpoch).toBeGreaterThan(group.groupEpoch)
      const second = Array.from({ length: 20 }, (_, i) => `second-${i}`)
      await produce(topic, second)
      await until('b read every later record', () => second.every((value) => b.received.some((r) => r.value === value)), 60_000,
        () => `b read ${b.received.map((r) => r.value).filter((v) => v.startsWith('second')).length} of 20`)
    } finally {
      await a.close().catch(() => {})
      await b.close().catch(() => {})
    }
  }, 240_000)

  test('DeleteGroups refuses a group with a member, then deletes it with its offsets; OffsetDelete spares subscribed topics', async () => {
    const topic = 'kip848-admin'
    const groupId = `kip848-admin-${process.pid}`
    await createTopic(topic, 2)
    const values = Array.from({ length: 12 }, (_, i) => `v-${i}`)
    await produce(topic, values)
    const member = await kip848Member(groupId, 'kip848-admin-member', topic)
    const kafkaAdmin = kafkaJs('kip848-delete').admin()
    await kafkaAdmin.connect()
    const platformatic = new PlatformaticAdmin({ clientId: 'kip848-platformatic-admin', bootstrapBrokers: cluster.kafkaBootstrapServers.split(',') })
    try {
      // Every value read, and commits at each partition's log end (a producer retry may have stored a value twice).
      await until('the member read and committed everything', async () => {
        if (!values.every((value) => member.received.some((r) => r.value === value))) return false
        const [offsets, ends] = [await committed(groupId, topic), await endOffsets(topic)]
        return [...ends].every(([partition, end]) => offsets.get(partition) === end && end > 0)
      }, 60_000, async () => `read ${member.received.length}, committed ${JSON.stringify([...(await committed(groupId, topic))])}, ends ${JSON.stringify([...(await endOffsets(topic))])}`)

      // While the member is in the group: DeleteGroups is NON_EMPTY_GROUP; OffsetDelete spares its topic.
      const refused = await kafkaAdmin.deleteGroups([groupId]).then(() => undefined, (error: unknown) => error as { name: string, groups: { groupId: string, errorCode: number }[] })
      expect(refused?.name).toBe('KafkaJSDeleteGroupsError')
      expect(refused?.groups.map((group) => [group.groupId, group.errorCode])).toEqual([[groupId, 68]])
      const coordinator = await coordinatorOf(groupId)
      try {
        coordinator.write(RawKafkaClient.frame(ApiKey.OffsetDelete, 0, 3, {
          groupId, topics: [{ name: topic, partitions: [{ partitionIndex: 0 }, { partitionIndex: 1 }] }, { name: 'kip848-no-such-topic', partitions: [{ partitionIndex: 0 }] }],
        }))
        expect((await coordinator.response(ApiKey.OffsetDelete, 0)).body).toEqual({
          errorCode: 0, throttleTimeMs: 0,
          topics: [
            { name: topic, partitions: [{ partitionIndex: 0, errorCode: 86 }, { partitionIndex: 1, errorCode: 86 }] },
            { name: 'kip848-no-such-topic', partitions: [{ partitionIndex: 0, errorCode: 3 }] },
          ],
        })
      } finally {
        coordinator.close()
      }
      expect([...(await committed(groupId, topic)).values()].every((offset) => offset > 0)).toBe(true)

      // The member leaves: the group is empty (its offsets stay until deleted).
      await member.close()
      await until('the group without members', async () => (await describeConsumerGroup(groupId)).groupState === 'Empty', 30_000,
        async () => JSON.stringify(await describeConsumerGroup(groupId)))
      await platformatic.deleteConsumerGroupOffsets({ groupId, topics: [{ name: topic, partitionIndexes: [0] }] })
      const afterOffsetDelete = await committed(groupId, topic)
      expect([afterOffsetDelete.get(0), (afterOffsetDelete.get(1) ?? -1) > 0]).toEqual([-1, true])

      expect(await kafkaAdmin.deleteGroups([groupId])).toEqual([expect.objectContaining({ groupId, errorCode: 0 })])
      expect([...(await committed(groupId, topic)).values()]).toEqual([-1, -1])
      expect((await describeConsumerGroup(groupId)).errorCode).toBe(69)
      const again = await kafkaAdmin.deleteGroups([groupId]).then(() => undefined, (error: unknown) => error as { groups: { errorCode: number }[] })
      expect(again?.groups.map((group) => group.errorCode)).toEqual([69])
    } finally {
      await member.close().catch(() => {})
      await kafkaAdmin.disconnect()
      await platformatic.close()
    }
  }, 180_000)

  test('Metadata auto-creates a topic a KafkaJS producer names (through the admin part)', async () => {
    const topic = `kip848-auto-${process.pid}`
    expect(await admin.listTopics()).not.toContain(topic)
    await produce(topic, ['auto'])
    const [description] = await admin.describeTopics([topic])
    expect(description?.partitions.length).toBeGreaterThan(0)
  }, 60_000)
})
