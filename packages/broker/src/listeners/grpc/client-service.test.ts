/**
 * The gRPC ClientService's wire edge of the data plane: protobuf requests become the replica manager's domain requests
 * with every field given; a partition that names no topic refuses the whole request (INVALID_REQUEST), and int64
 * fields decoded as Longs become numbers.
 */
import { ErrorCode } from '@gregor/common'
import { wire } from '@gregor/protocol'
import { describe, expect, test } from 'vitest'
import { fetchRequestFromWire, listOffsetsRequestFromWire, produceRequestFromWire } from './client-service.js'

/** A request as the gRPC server hands it over: encoded by a client, decoded here (absent fields read as defaults). */
function decoded<T> (type: { encode (message: never): { finish (): Uint8Array }, decode (bytes: Uint8Array): T }, message: object): T {
  return type.decode(type.encode(message as never).finish())
}

describe('the data plane at the gRPC edge', () => {
  test('produce: every field given; absent acks, timeout and topic id read as the protocol defaults', () => {
    const records = new Uint8Array([1, 2, 3])
    expect(produceRequestFromWire(decoded(wire.cluster.ProduceRequest, { partitions: [{ topic: 't', partition: 2, records }] }))).toEqual({
      acks: 0, timeoutMs: 0, partitions: [{ topic: 't', partition: 2, topicId: '', records: Buffer.from(records) }],
    })
  })

  test('a partition without a topic refuses the whole request with INVALID_REQUEST', () => {
    const request = decoded(wire.cluster.ProduceRequest, { acks: -1, partitions: [{ topic: 't', partition: 0 }, { partition: 1 }] })
    expect(() => produceRequestFromWire(request)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_REQUEST }) as Error)
    expect(() => fetchRequestFromWire({ partitions: [{ partition: 0 }] })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_REQUEST }) as Error)
    expect(() => listOffsetsRequestFromWire({ partitions: [{ topic: '' }] })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_REQUEST }) as Error)
  })

  test('fetch and list offsets: int64 offsets and timestamps as numbers; gRPC list offsets is never epoch-fenced', () => {
    const fetch = fetchRequestFromWire(decoded(wire.cluster.FetchRequest, {
      maxWaitMs: 100, minBytes: 1, maxBytes: 1024, partitions: [{ topic: 't', partition: 1, fetchOffset: 2 ** 40, partitionMaxBytes: 512, currentLeaderEpoch: 3, topicId: 'id' }],
    }))
    expect(fetch).toEqual({
      maxWaitMs: 100, minBytes: 1, maxBytes: 1024,
      partitions: [{ topic: 't', partition: 1, topicId: 'id', fetchOffset: 2 ** 40, partitionMaxBytes: 512, currentLeaderEpoch: 3 }],
    })
    expect(listOffsetsRequestFromWire(decoded(wire.cluster.ListOffsetsRequest, { partitions: [{ topic: 't', partition: 0, timestamp: -3 }] }))).toEqual({
      partitions: [{ topic: 't', partition: 0, topicId: '', timestamp: -3, currentLeaderEpoch: -1 }],
    })
  })
})
