import { ErrorCode } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { Admin, type ListedOffset } from './admin.js'
import { flushMicrotasks } from './testing/flush-microtasks.js'
import { knownLeader, metadata, scriptedConnection } from './testing/scripted-brokers.js'

describe('Admin.listOffsets and topic ids (KIP-516)', () => {
  /** Lists t-0 (known under topic id 'old', led by broker 1) on scripted brokers; `answers` once it returns. */
  async function listing (spec: 'earliest' | 'latest') {
    const { brokers, connection } = scriptedConnection()
    await knownLeader(brokers, connection, 'old')
    const admin = new Admin({ bootstrapServers: 'b1:9092' }, { connection })
    const listed: { answers: ListedOffset[] | undefined } = { answers: undefined }
    void admin.listOffsets([{ topic: 't', partition: 0 }], spec).then((answers) => { listed.answers = answers })
    await flushMicrotasks()
    return { brokers, listed }
  }

  test('names the topic id of the metadata, and after a stale-metadata answer refreshes and asks once more', async () => {
    const { brokers, listed } = await listing('latest')
    const first = brokers.of('ListOffsets')[0]
    expect(first?.request.partitions[0]).toMatchObject({ topic: 't', partition: 0, timestamp: -1, topicId: 'old' })
    first?.respond({ partitions: [{ topic: 't', partition: 0, offset: -1, errorCode: ErrorCode.INCONSISTENT_TOPIC_ID }] })
    await flushMicrotasks()
    brokers.of('Metadata').at(-1)?.respond(metadata(2, 0, 'new'))
    await flushMicrotasks()
    const second = brokers.of('ListOffsets')[1]
    expect(second?.address).toBe('b2:9092')
    expect(second?.request.partitions[0]).toMatchObject({ topicId: 'new' })
    second?.respond({ partitions: [{ topic: 't', partition: 0, offset: 7, leaderEpoch: 0 }] })
    await flushMicrotasks()
    expect(listed.answers).toEqual([{ topic: 't', partition: 0, offset: 7, leaderEpoch: 0, errorCode: '' }])
  })

  test('asks once more only once: a second stale answer is returned as it is', async () => {
    const { brokers, listed } = await listing('earliest')
    for (let round = 0; round < 2; round++) {
      brokers.of('ListOffsets')[round]?.respond({ partitions: [{ topic: 't', partition: 0, offset: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_ID }] })
      await flushMicrotasks()
      brokers.of('Metadata').at(-1)?.respond(metadata(1, 5, 'old'))
      await flushMicrotasks()
    }
    await flushMicrotasks()
    expect(brokers.of('ListOffsets')).toHaveLength(2)
    expect(listed.answers).toMatchObject([{ topic: 't', partition: 0, offset: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_ID }])
  })
})
