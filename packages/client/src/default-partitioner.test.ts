import { seededRng } from '@gregor/common'
import { Partitioners, type PartitionMetadata } from 'kafkajs'
import { describe, expect, test } from 'vitest'
import { createDefaultPartitioner, partitionForKey } from './default-partitioner.js'
import type { PartitionerInput } from './partitioner.js'

const all = (count: number): number[] => Array.from({ length: count }, (_, partition) => partition)

function keyed (key: string, partitionCount: number, availablePartitions: readonly number[] = all(partitionCount)): PartitionerInput {
  return { topic: 't', key: Buffer.from(key), value: null, partitionCount, availablePartitions }
}

function keyless (topic: string, partitionCount: number, availablePartitions: readonly number[] = all(partitionCount)): PartitionerInput {
  return { topic, key: null, value: Buffer.from('v'), partitionCount, availablePartitions }
}

function kafkaJsMetadata (partitionCount: number): PartitionMetadata[] {
  return all(partitionCount).map((partitionId) => ({ partitionErrorCode: 0, partitionId, leader: 1, replicas: [1], isr: [1] }))
}

describe('partitionForKey', () => {
  test('is toPositive(murmur2(key)) % partitionCount (Kafka: "foobar" over 50 → 16, over 10 → 6)', () => {
    expect(partitionForKey(Buffer.from('foobar'), 50)).toBe(16)
    expect(partitionForKey(Buffer.from('foobar'), 10)).toBe(6)
  })
})

describe('createDefaultPartitioner', () => {
  test('the same key lands on the same partition, across calls and partitioner instances', () => {
    const first = createDefaultPartitioner({ rng: seededRng(1) })
    const second = createDefaultPartitioner({ rng: seededRng(2) })
    for (let i = 0; i < 200; i++) {
      const input = keyed(`user-${i}`, 12)
      const partition = first(input)
      expect(first(input)).toBe(partition)
      expect(second(input)).toBe(partition)
    }
  })

  test('keyed records land where KafkaJS DefaultPartitioner (Java-compatible) puts them', () => {
    const ours = createDefaultPartitioner({ rng: seededRng(3) })
    const theirs = Partitioners.DefaultPartitioner()
    for (const partitionCount of [1, 3, 7, 12, 64]) {
      const partitionMetadata = kafkaJsMetadata(partitionCount)
      for (let i = 0; i < 500; i++) {
        const key = `order-${i * 7919}`
        expect(ours(keyed(key, partitionCount))).toBe(theirs({ topic: 't', partitionMetadata, message: { key, value: null } }))
      }
    }
  })

  test('keyed records hash over all partitions, even those without a leader (per-key order over availability)', () => {
    const partitioner = createDefaultPartitioner({ rng: seededRng(4) })
    expect(partitioner(keyed('foobar', 50, [0, 1]))).toBe(16)
  })

  test('an empty key is a key, not a keyless record (Kafka hashes empty byte arrays)', () => {
    const partitioner = createDefaultPartitioner({ rng: seededRng(5) })
    expect(partitioner({ ...keyed('', 16) })).toBe(partitionForKey(new Uint8Array(0), 16))
  })

  test('keyless records stick to one partition until onNewBatch, then move to another', () => {
    const partitioner = createDefaultPartitioner({ rng: seededRng(6) })
    const sticky = partitioner(keyless('t', 8))
    for (let i = 0; i < 50; i++) expect(partitioner(keyless('t', 8))).toBe(sticky)
    partitioner.onNewBatch?.({ topic: 't', previousPartition: sticky, partitionCount: 8, availablePartitions: all(8) })
    const next = partitioner(keyless('t', 8))
    expect(next).not.toBe(sticky)
    for (let i = 0; i < 50; i++) expect(partitioner(keyless('t', 8))).toBe(next)
  })

  test('each topic has its own sticky partition', () => {
    const partitioner = createDefaultPartitioner({ rng: seededRng(7) })
    const a = partitioner(keyless('a', 100))
    const b = partitioner(keyless('b', 100))
    partitioner.onNewBatch?.({ topic: 'a', previousPartition: a, partitionCount: 100, availablePartitions: all(100) })
    expect(partitioner(keyless('b', 100))).toBe(b)
  })
})
