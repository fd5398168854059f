import { ErrorCode } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { ProducerBatch } from './producer-batch.js'
import { recordInput } from './producer.js'
import { produceOutcomes, produceRequest } from './producer-sender.js'

function batch (topic: string, partition: number): ProducerBatch {
  const created = new ProducerBatch({ topic, partition, createdMs: 0 })
  const record = { key: null, value: Buffer.from('v'), timestamp: 1 }
  void created.append(record, created.appendBytes(record))
  created.close()
  created.encode('none')
  return created
}

describe('produceRequest', () => {
  test('one entry per batch with its bytes, acks on the wire as -1/1/0', () => {
    const batches = [batch('a', 0), batch('b', 3)]
    const request = produceRequest(batches, { acks: 'all', timeoutMs: 1000 })
    expect(request).toEqual({
      acks: -1, timeoutMs: 1000,
      partitions: [{ topic: 'a', partition: 0, records: batches[0]?.buffer }, { topic: 'b', partition: 3, records: batches[1]?.buffer }],
    })
    expect(produceRequest(batches, { acks: 'leader', timeoutMs: 1 }).acks).toBe(1)
    expect(produceRequest(batches, { acks: 'none', timeoutMs: 1 }).acks).toBe(0)
  })
})

describe('produceOutcomes', () => {
  const batches = [batch('a', 0), batch('a', 1), batch('b', 0), batch('c', 0)]
  const outcomes = produceOutcomes({
    partitions: [
      { topic: 'b', partition: 0, errorCode: 'NOT_LEADER_OR_FOLLOWER', errorMessage: 'leader is 2' },
      { topic: 'a', partition: 1, baseOffset: 7, logAppendTimeMs: 1234 },
      { topic: 'a', partition: 0, errorCode: '', baseOffset: 40, logAppendTimeMs: -1 },
    ],
  }, batches)

  test('matches results to batches by topic and partition, whatever their order', () => {
    expect(outcomes[0]).toMatchObject({ ok: true, baseOffset: 40, logAppendTimeMs: undefined })
    expect(outcomes[1]).toMatchObject({ ok: true, baseOffset: 7, logAppendTimeMs: 1234 })
    expect(outcomes.map((outcome) => outcome.batch)).toEqual(batches)
  })

  test('maps error codes to retriable GregorErrors with the partition in details', () => {
    expect(outcomes[2]).toMatchObject({ ok: false, error: { code: ErrorCode.NOT_LEADER_OR_FOLLOWER, retriable: true, details: { topic: 'b', partition: 0 } } })
  })

  test('a partition missing from the response fails, not retriable', () => {
    expect(outcomes[3]).toMatchObject({ ok: false, error: { code: ErrorCode.UNKNOWN_SERVER_ERROR, retriable: false } })
  })
})

describe('recordInput', () => {
  test('encodes strings as UTF-8 and headers from a record or a list', () => {
    expect(recordInput({ key: 'k', value: 'é', headers: { a: 'x', b: null }, timestamp: 5 })).toEqual({
      key: Buffer.from('k'), value: Buffer.from('é'), timestamp: 5,
      headers: [{ key: 'a', value: Buffer.from('x') }, { key: 'b', value: null }],
    })
    const headers = [{ key: 'a', value: null }, { key: 'a', value: Buffer.from('y') }]
    expect(recordInput({ value: null, headers })).toEqual({ key: null, value: null, headers })
  })
})
