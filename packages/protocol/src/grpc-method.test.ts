import { describe, expect, it } from 'vitest'
import { type gregor, wire } from './generated.js'
import { encodeMessage } from './grpc-method.js'
import { replicationMethods } from './cluster-services.js'

const c = wire.cluster

function response (recordBytes: number, fill: number): gregor.cluster.ReplicaFetchResponse.$Properties {
  return { partitions: [{ topic: 't', partition: 1, errorCode: '', highWatermark: 7, records: Buffer.alloc(recordBytes, fill) }] }
}

describe('encodeMessage (the reused scratch writer)', () => {
  it('encodes exactly what a fresh protobufjs writer encodes', () => {
    for (const size of [0, 10, 200, 70_000, 300_000]) {
      const message = response(size, size % 251)
      const expected = Buffer.from(c.ReplicaFetchResponse.encode(message).finish())
      expect(encodeMessage(c.ReplicaFetchResponse, message).equals(expected)).toBe(true)
    }
  })

  it('hands out buffers the next encode never touches', () => {
    const big = encodeMessage(c.ReplicaFetchResponse, response(200_000, 1))
    const bigCopy = Buffer.from(big)
    const small = encodeMessage(c.ReplicaFetchResponse, response(100, 2))
    encodeMessage(c.ReplicaFetchResponse, response(150_000, 3))
    expect(big.equals(bigCopy)).toBe(true)
    expect(c.ReplicaFetchResponse.decode(small).partitions[0]?.records).toEqual(Buffer.alloc(100, 2))
    // The decoded records of a serialized response stay intact after later encodes (decode returns views).
    const decoded = replicationMethods.fetch.responseDeserialize(replicationMethods.fetch.responseSerialize(response(5_000, 4)))
    encodeMessage(c.ReplicaFetchResponse, response(5_000, 5))
    expect(decoded.partitions[0]?.records).toEqual(Buffer.alloc(5_000, 4))
  })

  it('recovers after an encode that throws, and after one larger than the kept scratch', () => {
    expect(() => encodeMessage(c.ReplicaFetchResponse, { partitions: [null as unknown as { topic: string }] })).toThrow()
    encodeMessage(c.ReplicaFetchResponse, response(5 * 1024 * 1024, 6))
    const after = encodeMessage(c.ReplicaFetchResponse, response(1_000, 7))
    expect(after.equals(Buffer.from(c.ReplicaFetchResponse.encode(response(1_000, 7)).finish()))).toBe(true)
  })
})
