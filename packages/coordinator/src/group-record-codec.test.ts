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

const classicMemberArb = fc.record({
  memberId: idArb, groupInstanceId: fc.constantFrom(null, 'instance-1'), clientId: fc.string({ maxLength: 20 }),
  clientHost: fc.string({ maxLength: 20 }), rebalanceTimeoutMs: fc.integer({ min: 0, max: 2_147_483_647 }),
  sessionTimeoutMs: fc.integer({ min: 0, max: 2_147_483_647 }), subscription: fc.uint8Array({ maxLength: 40 }),
  assignment: fc.uint8Array({ maxLength: 40 }),
})

const recordArb: fc.Arbitrary<GroupRecord> = fc.oneof(
  fc.record({
    type: fc.constant('GroupMetadata' as const), groupId: idArb,
    value: nullable(fc.record({
      protocolType: fc.constantFrom('consumer', 'connect', ''), generationId: epochArb, protocolName: fc.constantFrom('', 'range', 'RoundRobinAssigner'),
      leader: fc.string({ maxLength: 30 }), currentStateTimestampMs: fc.integer({ min: -1, max: 2 ** 45 }),
      members: fc.uniqueArray(classicMemberArb, { maxLength: 4, selector: (m) => m.memberId }),
    })),
  }),
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

  test("GroupMetadata (a classic group) has Kafka's GroupMetadataValue v3 layout", () => {
    const { key, value } = encodeGroupRecord({
      type: 'GroupMetadata', groupId: 'g',
      value: {
        protocolType: 'consumer', generationId: 5, protocolName: 'range', leader: 'm', currentStateTimestampMs: 1000,
        members: [{
          memberId: 'm', groupInstanceId: null, clientId: 'c', clientHost: '/h', rebalanceTimeoutMs: 30_000,
          sessionTimeoutMs: 10_000, subscription: Buffer.from([1, 2]), assignment: Buffer.from([3]),
        }],
      },
    })
    expect(key.toString('hex')).toBe('0002' + '0001' + '67')
    expect(value?.toString('hex')).toBe('0003' + '0008' + Buffer.from('consumer').toString('hex') + '00000005' +
      '0005' + Buffer.from('range').toString('hex') + '0001' + '6d' + '00000000000003e8' + '00000001' +
      '0001' + '6d' + 'ffff' + '0001' + '63' + '0002' + '2f68' + '00007530' + '00002710' + '00000002' + '0102' + '00000001' + '03')
    // An empty group, as Kafka writes it: no protocol, no leader (nulls), no members.
    const empty = encodeGroupRecord({
      type: 'GroupMetadata', groupId: 'g',
      value: { protocolType: 'consumer', generationId: 6, protocolName: '', leader: '', currentStateTimestampMs: -1, members: [] },
    })
    expect(empty.value?.toString('hex')).toBe('0003' + '0008' + Buffer.from('consumer').toString('hex') + '00000006' + 'ffff' + 'ffff' +
      'ffffffffffffffff' + '00000000')
  })

  test('reads GroupMetadataValue v0-v2 as Kafka wrote them (v0: the rebalance timeout is the session timeout)', () => {
    const key = Buffer.from('0002' + '0001' + '67', 'hex')
    const head = '0008' + Buffer.from('consumer').toString('hex') + '00000002' + '0005' + Buffer.from('range').toString('hex') + '0001' + '6d'
    const member = (withRebalance: boolean): string => '0001' + '6d' + '0001' + '63' + '0002' + '2f68' +
      (withRebalance ? '0000ea60' : '') + '00002710' + '00000001' + 'aa' + '00000000'
    const expected = (rebalanceTimeoutMs: number, currentStateTimestampMs: number): GroupRecord => ({
      type: 'GroupMetadata', groupId: 'g',
      value: {
        protocolType: 'consumer', generationId: 2, protocolName: 'range', leader: 'm', currentStateTimestampMs,
        members: [{
          memberId: 'm', groupInstanceId: null, clientId: 'c', clientHost: '/h', rebalanceTimeoutMs, sessionTimeoutMs: 10_000,
          subscription: new Uint8Array([0xaa]), assignment: new Uint8Array(0),
        }],
      },
    })
    expect(decodeGroupRecord(key, Buffer.from('0000' + head + '00000001' + member(false), 'hex'))).toEqual(expected(10_000, -1))
    expect(decodeGroupRecord(key, Buffer.from('0001' + head + '00000001' + member(true), 'hex'))).toEqual(expected(60_000, -1))
    expect(decodeGroupRecord(key, Buffer.from('0002' + head + '0000000000000064' + '00000001' + member(true), 'hex'))).toEqual(expected(60_000, 100))
    expect(() => decodeGroupRecord(key, Buffer.from('0004' + head, 'hex'))).toThrow(/version 4 is not supported/)
    expect(decodeGroupRecord(key, null)).toEqual({ type: 'GroupMetadata', groupId: 'g', value: null })
  })

  test('a generation-only classic record, as written before GroupMetadata existed, still reads', () => {
    // ConsumerGroupMetadata (key type 3) with the JSON value v0 {"epoch":4,"groupType":"classic"}.
    const key = Buffer.from('0003' + '0001' + '67', 'hex')
    const value = Buffer.concat([Buffer.from('0000', 'hex'), Buffer.from('{"epoch":4,"groupType":"classic"}')])
    expect(decodeGroupRecord(key, value)).toEqual({ type: 'ConsumerGroupMetadata', groupId: 'g', value: { epoch: 4, groupType: 'classic' } })
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
    const classic = encodeGroupRecord({
      type: 'GroupMetadata', groupId: 'g',
      value: {
        protocolType: 'consumer', generationId: 5, protocolName: 'range', leader: 'm', currentStateTimestampMs: 1000,
        members: [{ memberId: 'm', groupInstanceId: null, clientId: 'c', clientHost: 'h', rebalanceTimeoutMs: 1, sessionTimeoutMs: 1, subscription: Buffer.from([1]), assignment: Buffer.from([2]) }],
      },
    })
    fc.assert(fc.property(fc.uint8Array({ maxLength: 128 }), (value) => { corruptOnly(classic.key, value) }), { seed: 2, numRuns: 1000 })
    // Truncations and single-byte flips of valid records.
    for (const record of [valid, classic]) {
      const bytes = record.value as Buffer
      for (let i = 0; i < bytes.length; i++) {
        corruptOnly(record.key, bytes.subarray(0, i))
        const flipped = Buffer.from(bytes)
        flipped[i] = (flipped[i] as number) ^ 0xff
        corruptOnly(record.key, flipped)
      }
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

  test('a classic group value repeating a member id is refused both ways', () => {
    const member = { memberId: 'm', groupInstanceId: null, clientId: 'c', clientHost: 'h', rebalanceTimeoutMs: 1, sessionTimeoutMs: 1, subscription: new Uint8Array(0), assignment: new Uint8Array(0) }
    expect(() => encodeGroupRecord({
      type: 'GroupMetadata', groupId: 'g',
      value: { protocolType: 'consumer', generationId: 1, protocolName: 'range', leader: 'm', currentStateTimestampMs: 0, members: [member, member] },
    })).toThrow(/repeat a member id/)
  })

  test('encoding refuses a record no reader would accept', () => {
    expect(() => encodeGroupRecord({ type: 'ConsumerGroupMetadata', groupId: '', value: null })).toThrow(/groupId/)
    expect(() => encodeGroupRecord({
      type: 'ConsumerGroupTargetAssignmentMember', groupId: 'g', memberId: 'm', value: { partitions: [{ topic: 't', partitions: [1, 1] }] },
    })).toThrow(/sorted/)
  })
})
