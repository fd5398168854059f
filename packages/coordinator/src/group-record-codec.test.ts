import { isGregorError } from '@gregor/common'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import type { TopicPartitions } from './coordinator-types.js'
import type { GroupRecord } from './group-record.js'
import { decodeGroupRecord, encodeGroupRecord } from './group-record-codec.js'

const topicArb = fc.stringMatching(/^[a-zA-Z0-9._-]{1,20}$/)
const idArb = fc.string({ minLength: 1, maxLength: 30 })
const epochArb = fc.integer({ min: 0, max: 2_147_483_647 })
const partitionsArb: fc.Arbitrary<TopicPartitions[]> = fc.dictionary(topicArb, fc.uniqueArray(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 8 }), { maxKeys: 4 })
  .map((d) => Object.keys(d).sort().map((topic) => ({ topic, partitions: [...(d[topic] as number[])].sort((a, b) => a - b) })))
const nullable = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> => fc.option(arb, { nil: null, freq: 4 })

const recordArb: fc.Arbitrary<GroupRecord> = fc.oneof(
  fc.record({
    type: fc.constant('OffsetCommit' as const), groupId: idArb, topic: topicArb, partition: fc.integer({ min: 0, max: 100_000 }),
    value: nullable(fc.record({
      offset: fc.maxSafeNat(), leaderEpoch: fc.integer({ min: -1, max: 2_147_483_647 }), metadata: fc.string({ maxLength: 50 }),
      commitTimestampMs: fc.integer({ min: 0, max: 2 ** 45 }),
    })),
  }),
  fc.record({
    type: fc.constant('ConsumerGroupMetadata' as const), groupId: idArb,
    value: nullable(fc.record({ epoch: epochArb, groupType: fc.constantFrom('consumer' as const, 'classic' as const) })),
  }),
  fc.record({
    type: fc.constant('ConsumerGroupPartitionMetadata' as const), groupId: idArb,
    value: nullable(fc.dictionary(topicArb, fc.integer({ min: 1, max: 10_000 }), { maxKeys: 5 })
      .map((d) => ({ topics: Object.keys(d).sort().map((topic) => ({ topic, partitionCount: d[topic] as number })) }))),
  }),
  fc.record({
    type: fc.constant('ConsumerGroupMemberMetadata' as const), groupId: idArb, memberId: idArb,
    value: nullable(fc.record({
      instanceId: fc.constant(''), rackId: fc.string({ maxLength: 10 }), clientId: fc.string({ maxLength: 20 }),
      clientHost: fc.string({ maxLength: 20 }),
      subscribedTopicNames: fc.uniqueArray(topicArb, { maxLength: 5 }).map((names) => [...names].sort()),
      subscribedTopicRegex: fc.constantFrom('', 'orders-.*', '[a-z]+'), serverAssignor: fc.constantFrom('', 'uniform', 'range'),
      rebalanceTimeoutMs: fc.integer({ min: 1, max: 2_147_483_647 }),
    })),
  }),
  fc.record({
    type: fc.constant('ConsumerGroupTargetAssignmentMetadata' as const), groupId: idArb,
    value: nullable(fc.record({ assignmentEpoch: epochArb })),
  }),
  fc.record({
    type: fc.constant('ConsumerGroupTargetAssignmentMember' as const), groupId: idArb, memberId: idArb,
    value: nullable(fc.record({ partitions: partitionsArb })),
  }),
  fc.record({
    type: fc.constant('ConsumerGroupCurrentMemberAssignment' as const), groupId: idArb, memberId: idArb,
    value: nullable(fc.record({
      memberEpoch: epochArb, previousMemberEpoch: fc.integer({ min: -1, max: 1000 }),
      state: fc.constantFrom('stable' as const, 'unrevoked_partitions' as const, 'unreleased_partitions' as const),
      assignedPartitions: partitionsArb, partitionsPendingRevocation: partitionsArb,
    })),
  }),
)

describe('group record codec', () => {
  test('every record type round-trips', () => {
    fc.assert(fc.property(recordArb, (record) => {
      const { key, value } = encodeGroupRecord(record)
      expect(decodeGroupRecord(key, value)).toEqual(record)
      // The same logical key always encodes to the same bytes, whatever the value.
      expect(encodeGroupRecord({ ...record, value: null } as GroupRecord).key.equals(key)).toBe(true)
    }), { seed: 848, numRuns: 500 })
  })

  test("OffsetCommit key and value have Kafka's layout", () => {
    const { key, value } = encodeGroupRecord({
      type: 'OffsetCommit', groupId: 'g', topic: 't', partition: 3,
      value: { offset: 42, leaderEpoch: 7, metadata: 'm', commitTimestampMs: 1000 },
    })
    expect(key.toString('hex')).toBe('0001' + '0001' + '67' + '0001' + '74' + '00000003')
    expect(value?.toString('hex')).toBe('0003' + '000000000000002a' + '00000007' + '0001' + '6d' + '00000000000003e8')
  })

  test('reads older OffsetCommit value versions and key version 0', () => {
    const key = Buffer.from('0000' + '0001' + '67' + '0001' + '74' + '00000000', 'hex')
    const v1 = Buffer.from('0001' + '0000000000000005' + '0000' + '0000000000000064' + '00000000000000c8', 'hex')
    expect(decodeGroupRecord(key, v1)).toEqual({
      type: 'OffsetCommit', groupId: 'g', topic: 't', partition: 0,
      value: { offset: 5, leaderEpoch: -1, metadata: '', commitTimestampMs: 100 },
    })
  })

  test('garbage is CORRUPT_MESSAGE, never another error', () => {
    const valid = encodeGroupRecord({
      type: 'ConsumerGroupCurrentMemberAssignment', groupId: 'g', memberId: 'm',
      value: { memberEpoch: 3, previousMemberEpoch: 2, state: 'stable', assignedPartitions: [{ topic: 't', partitions: [0, 1] }], partitionsPendingRevocation: [] },
    })
    const corruptOnly = (key: Uint8Array, value: Uint8Array | null): void => {
      try {
        decodeGroupRecord(key, value)
      } catch (error) {
        if (!isGregorError(error) || error.code !== 'CORRUPT_MESSAGE') throw error
      }
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), fc.option(fc.uint8Array({ maxLength: 128 }), { nil: null }), (key, value) => {
      corruptOnly(key, value)
      corruptOnly(valid.key, value)
      if (value !== null) corruptOnly(key, valid.value as Buffer)
    }), { seed: 7, numRuns: 2000 })
    // Truncations and single-byte flips of valid records.
    const bytes = valid.value as Buffer
    for (let i = 0; i < bytes.length; i++) {
      corruptOnly(valid.key, bytes.subarray(0, i))
      const flipped = Buffer.from(bytes)
      flipped[i] = (flipped[i] as number) ^ 0xff
      corruptOnly(valid.key, flipped)
    }
  })

  test('specific malformations name the problem', () => {
    const key = encodeGroupRecord({ type: 'ConsumerGroupMetadata', groupId: 'g', value: null }).key
    const json = (text: string): Buffer => Buffer.concat([Buffer.from([0, 0]), Buffer.from(text)])
    expect(() => decodeGroupRecord(key, json('{"epoch":-1,"groupType":"consumer"}'))).toThrow(/epoch/)
    expect(() => decodeGroupRecord(key, json('{"epoch":1,"groupType":"consumer","x":1}'))).toThrow(/unknown field/)
    expect(() => decodeGroupRecord(key, json('{"epoch":1'))).toThrow(/not JSON/)
    expect(() => decodeGroupRecord(Buffer.from([0, 99, 0, 1, 0x67]), null)).toThrow(/unknown key type 99/)
    expect(() => decodeGroupRecord(Buffer.concat([key, Buffer.from([1])]), null)).toThrow(/trailing/)
    const target = encodeGroupRecord({ type: 'ConsumerGroupTargetAssignmentMember', groupId: 'g', memberId: 'm', value: null }).key
    expect(() => decodeGroupRecord(target, json('{"partitions":[{"topic":"t","partitions":[2,1]}]}'))).toThrow(/sorted/)
  })

  test('encoding refuses a record no reader would accept', () => {
    expect(() => encodeGroupRecord({ type: 'ConsumerGroupMetadata', groupId: '', value: null })).toThrow(/groupId/)
    expect(() => encodeGroupRecord({
      type: 'ConsumerGroupTargetAssignmentMember', groupId: 'g', memberId: 'm', value: { partitions: [{ topic: 't', partitions: [1, 1] }] },
    })).toThrow(/sorted/)
  })
})
