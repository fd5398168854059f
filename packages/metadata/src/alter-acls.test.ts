import { ErrorCode, raftIndex } from '@gregor/common'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { type AclBinding, type AclBindingFilter, anyAclFilter, authorize } from './acl.js'
import { decideCreateAcls, decideDeleteAcls } from './alter-acls.js'
import { MetadataImage } from './metadata-image.js'
import { decodeMetadataRecords, encodeMetadataRecords } from './metadata-record-codec.js'
import type { MetadataRecord } from './metadata-record.js'

function commit (image: MetadataImage, records: readonly MetadataRecord[]): void {
  image.applyBatch(decodeMetadataRecords(encodeMetadataRecords(records)), raftIndex(image.appliedIndex + 1))
}

function binding (fields: Partial<AclBinding> = {}): AclBinding {
  return {
    resourceType: 'TOPIC', resourceName: 'orders', patternType: 'LITERAL', principal: 'User:alice', host: '*',
    operation: 'WRITE', permission: 'ALLOW', ...fields,
  }
}

let idCounter = 0
const freshIds = (count: number): string[] => Array.from({ length: count }, () => `acl-${++idCounter}`)

function create (image: MetadataImage, creations: readonly AclBinding[]): ReturnType<typeof decideCreateAcls> {
  const decision = decideCreateAcls(image, { creations, aclIds: freshIds(creations.length) })
  commit(image, decision.records)
  return decision
}

const filter = (fields: Partial<AclBindingFilter>): AclBindingFilter => ({ ...anyAclFilter, ...fields })
const aliceWrites = { principal: 'User:alice', host: '10.0.0.1', operation: 'WRITE', resourceType: 'TOPIC', resourceName: 'orders' } as const

describe('decideCreateAcls', () => {
  test('creates one AccessControlEntry per new ACL; the committed image authorizes with it', () => {
    const image = new MetadataImage()
    const decision = create(image, [binding(), binding({ permission: 'DENY', operation: 'READ' })])
    expect(decision.results).toEqual([{}, {}])
    expect(decision.records.map((record) => record.type)).toEqual(['AccessControlEntry', 'AccessControlEntry'])
    expect(image.acls().size).toBe(2)
    expect(authorize(image.acls(), aliceWrites).allowed).toBe(true)
    expect(authorize(image.acls(), { ...aliceWrites, operation: 'READ' }).allowed).toBe(false)
  })

  test('is idempotent: an existing ACL, or the same one twice in a request, makes no second record', () => {
    const image = new MetadataImage()
    create(image, [binding()])
    const again = create(image, [binding(), binding({ resourceName: 'x' }), binding({ resourceName: 'x' })])
    expect(again.results).toEqual([{}, {}, {}])
    expect(again.records).toHaveLength(1)
    expect(image.acls().size).toBe(2)
  })

  test('a bad binding is INVALID_REQUEST for that creation only', () => {
    const image = new MetadataImage()
    const decision = create(image, [
      binding({ principal: 'alice' }),
      binding({ operation: 'ANY' as never }),
      binding({ resourceType: 'CLUSTER', resourceName: 'mine' }),
      binding({ resourceName: '' }),
      binding({ host: '' }),
      binding({ resourceType: 'CLUSTER', resourceName: 'kafka-cluster', operation: 'CREATE' }),
    ])
    expect(decision.results.map((result) => result.error?.code ?? 'NONE')).toEqual([
      ...Array(5).fill(ErrorCode.INVALID_REQUEST), 'NONE',
    ])
    expect(decision.results[0]?.error?.message).toMatch(/creations\[0\]\.principal must be User:<name>/)
    expect(image.acls().all().map((acl) => acl.resourceType)).toEqual(['CLUSTER'])
  })

  test('a decision does not change the image it decides on', () => {
    const image = new MetadataImage()
    decideCreateAcls(image, { creations: [binding()], aclIds: ['a'] })
    expect(image.acls().size).toBe(0)
  })
})

describe('decideDeleteAcls', () => {
  test('each filter lists what it matches; an ACL matched twice is listed twice and removed by one record', () => {
    const image = new MetadataImage()
    create(image, [
      binding(),
      binding({ patternType: 'PREFIXED', resourceName: 'ord' }),
      binding({ resourceType: 'GROUP', resourceName: 'g', operation: 'READ' }),
    ])
    const decision = decideDeleteAcls(image, [
      filter({ resourceType: 'TOPIC', patternType: 'MATCH', resourceName: 'orders.eu' }),
      filter({ resourceType: 'TOPIC' }),
      filter({ principal: 'User:nobody' }),
    ])
    expect(decision.results.map((result) => result.deleted.map((acl) => acl.resourceName))).toEqual([['ord'], ['orders', 'ord'], []])
    expect(decision.records).toHaveLength(2)
    expect(decision.results.every((result) => result.error === undefined)).toBe(true)
    commit(image, decision.records)
    expect(image.acls().all().map((acl) => acl.resourceType)).toEqual(['GROUP'])
  })

  test('removing an ACL takes effect once its record is applied', () => {
    const image = new MetadataImage()
    create(image, [binding()])
    expect(authorize(image.acls(), aliceWrites).allowed).toBe(true)
    commit(image, decideDeleteAcls(image, [filter({ principal: 'User:alice' })]).records)
    expect(authorize(image.acls(), aliceWrites).allowed).toBe(false)
  })

  test('a malformed filter is INVALID_REQUEST; the others still delete', () => {
    const image = new MetadataImage()
    create(image, [binding()])
    const decision = decideDeleteAcls(image, [filter({ patternType: 'UNKNOWN' as never }), filter({ principal: 'bob' }), filter({})])
    expect(decision.results.map((result) => result.error?.code ?? 'NONE')).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, 'NONE'])
    expect(decision.records).toHaveLength(1)
  })
})

describe('ACLs in the image', () => {
  test('a reused id or a repeated binding is a controller bug: applying it fails an assertion', () => {
    const image = new MetadataImage()
    commit(image, [{ type: 'AccessControlEntry', id: 'a', ...binding() }])
    expect(() => { commit(image, [{ type: 'AccessControlEntry', id: 'a', ...binding({ resourceName: 'x' }) }]) }).toThrow(/ACL id a reused/)
    expect(() => { commit(image, [{ type: 'AccessControlEntry', id: 'b', ...binding() }]) }).toThrow(/repeats ACL a/)
    expect(() => { commit(image, [{ type: 'RemoveAccessControlEntry', id: 'zz' }]) }).toThrow(/unknown ACL id zz/)
  })

  test('a snapshot without ACLs has no acls key (the bytes of earlier snapshots); a restored image keeps its ACLs', () => {
    const image = new MetadataImage()
    expect(new TextDecoder().decode(image.snapshot())).not.toContain('acls')
    create(image, [binding(), binding({ patternType: 'PREFIXED', resourceName: 'o' })])
    const restored = MetadataImage.restore(image.snapshot())
    expect(restored.acls().all()).toEqual(image.acls().all())
    expect(restored.snapshot()).toEqual(image.snapshot())
    expect(authorize(restored.acls(), { ...aliceWrites, resourceName: 'other' }).allowed).toBe(true)
  })

  test('a snapshot with a duplicated or malformed ACL is refused', () => {
    const image = new MetadataImage()
    create(image, [binding()])
    const state = JSON.parse(new TextDecoder().decode(image.snapshot())) as { acls: unknown[] }
    const twice = new TextEncoder().encode(JSON.stringify({ ...state, acls: [state.acls[0], state.acls[0]] }))
    expect(() => MetadataImage.restore(twice)).toThrow(/ACL id .* appears twice/)
    const bad = new TextEncoder().encode(JSON.stringify({ ...state, acls: [{ ...(state.acls[0] as object), principal: 'x' }] }))
    expect(() => MetadataImage.restore(bad)).toThrow(/snapshot\.acls\[0\]\.principal must be User:<name>/)
  })

  test('property: random creates and deletes; a replaying follower, a clone and a restored snapshot agree', () => {
    const bindingArb = fc.record({
      resourceType: fc.constantFrom('TOPIC' as const, 'GROUP' as const),
      resourceName: fc.constantFrom('a', 'ab', 'b', '*'),
      patternType: fc.constantFrom('LITERAL' as const, 'PREFIXED' as const),
      principal: fc.constantFrom('User:alice', 'User:*'),
      host: fc.constantFrom('*', '10.0.0.1'),
      operation: fc.constantFrom('READ' as const, 'WRITE' as const, 'ALL' as const),
      permission: fc.constantFrom('ALLOW' as const, 'DENY' as const),
    })
    const stepArb = fc.oneof(
      fc.record({ create: fc.array(bindingArb, { maxLength: 4 }) }),
      fc.record({ remove: fc.record({ resourceName: fc.option(fc.constantFrom('a', 'ab', 'b', '*'), { nil: undefined }), patternType: fc.constantFrom('ANY' as const, 'MATCH' as const, 'LITERAL' as const) }) }),
    )
    fc.assert(fc.property(fc.array(stepArb, { maxLength: 15 }), (steps) => {
      const leader = new MetadataImage()
      const follower = new MetadataImage()
      let index = 0
      for (const step of steps) {
        const records = 'create' in step
          ? decideCreateAcls(leader, { creations: step.create, aclIds: step.create.map(() => `id${++index}`) }).records
          : decideDeleteAcls(leader, [filter(step.remove.resourceName === undefined ? { patternType: step.remove.patternType } : step.remove)]).records
        const clone = leader.clone()
        const bytes = encodeMetadataRecords(records)
        leader.applyBatch(records, raftIndex(leader.appliedIndex + 1))
        follower.applyBatch(decodeMetadataRecords(bytes), raftIndex(follower.appliedIndex + 1))
        if (records.length > 0) expect(clone.acls().all()).not.toEqual(leader.acls().all())
        // No two ACLs share a binding.
        const keys = leader.acls().all().map((acl) => JSON.stringify({ ...acl, id: '' }))
        expect(new Set(keys).size).toBe(keys.length)
      }
      expect(follower.acls().all()).toEqual(leader.acls().all())
      expect(MetadataImage.restore(leader.snapshot()).snapshot()).toEqual(leader.snapshot())
    }))
  })
})
