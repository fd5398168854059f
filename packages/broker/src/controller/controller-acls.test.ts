import { ErrorCode, type Timers, nodeId, raftIndex, silentLogger } from '@gregor/common'
import { MetadataImage, type MetadataRecord, defaultMetadataConfig, metadataBatchBytes } from '@gregor/metadata'
import { entryDataBytesMax } from '@gregor/raft'
import { describe, expect, test } from 'vitest'
import { Controller } from './controller.js'
import { describeAclsFromImage } from './wire-acls.js'

const noTimers: Timers = {
  setTimeout: () => ({ cancel: () => {} }),
  setInterval: () => ({ cancel: () => {} }),
  sleep: async () => {},
}

/** A controller over a real image whose `propose` applies each batch at once. */
function harness () {
  const image = new MetadataImage()
  const applied: (readonly MetadataRecord[])[] = []
  let ids = 0
  const controller = new Controller({
    brokerId: nodeId(1), clusterId: 'cluster-a', config: defaultMetadataConfig, image: () => image,
    propose: async (records) => {
      applied.push(records)
      image.applyBatch(records, raftIndex(image.appliedIndex + 1))
    },
    newId: () => `acl-id-${++ids}`, clock: { nowMs: () => 1_000 }, logger: silentLogger, timers: noTimers, rng: { next: () => 0, int: (min) => min },
  })
  controller.activate()
  return { image, applied, controller }
}

const binding = (overrides: Record<string, string> = {}) => ({
  resourceType: 'TOPIC', resourceName: 'orders', patternType: 'LITERAL', principal: 'User:alice', host: '*',
  operation: 'WRITE', permission: 'ALLOW', ...overrides,
})

describe('Controller ACLs', () => {
  test('CreateAcls commits one AccessControlEntry per new ACL with the injected id, per-item INVALID_REQUEST, idempotent', async () => {
    const h = harness()
    const created = await h.controller.createAcls({ creations: [binding(), binding({ operation: 'NOPE' }), binding()] })
    expect(created.results?.map((result) => result.errorCode)).toEqual(['', ErrorCode.INVALID_REQUEST, ''])
    expect(h.image.acls().all()).toEqual([{ id: 'acl-id-1', ...binding() }])
    const again = await h.controller.createAcls({ creations: [binding()] })
    expect(again.results).toEqual([{ errorCode: '' }])
    expect(h.image.acls().size).toBe(1)
  })

  test('DeleteAcls lists what each filter matched and removes it; DescribeAcls reads the image', async () => {
    const h = harness()
    await h.controller.createAcls({ creations: [binding(), binding({ resourceName: 'pay', patternType: 'PREFIXED', operation: 'READ' })] })
    expect(describeAclsFromImage(h.image.acls(), { resourceType: 'TOPIC', patternType: 'MATCH', resourceName: 'payments' }).acls)
      .toEqual([binding({ resourceName: 'pay', patternType: 'PREFIXED', operation: 'READ' })])
    expect(describeAclsFromImage(h.image.acls(), { operation: 'BOGUS' }).errorCode).toBe(ErrorCode.INVALID_REQUEST)
    const deleted = await h.controller.deleteAcls({ filters: [{ operation: 'WRITE' }, { resourceName: 'nothing' }, { permission: 'MAYBE' }] })
    expect(deleted.results?.map((result) => [result.errorCode, result.deleted?.length])).toEqual([['', 1], ['', 0], [ErrorCode.INVALID_REQUEST, 0]])
    expect(deleted.results?.[0]?.deleted).toEqual([binding()])
    expect(h.image.acls().all().map((acl) => acl.operation)).toEqual(['READ'])
  })

  test('many ACLs at once are proposed in several entries, each within the raft entry limit', async () => {
    const h = harness()
    const creations = Array.from({ length: 6000 }, (_, i) => binding({ resourceName: `topic-with-a-long-name-${i}` }))
    const created = await h.controller.createAcls({ creations })
    expect(created.results?.every((result) => result.errorCode === '')).toBe(true)
    expect(h.image.acls().size).toBe(6000)
    const batches = h.applied.filter((records) => records.length > 0)
    expect(batches.length).toBeGreaterThan(1)
    for (const records of batches) expect(metadataBatchBytes(records)).toBeLessThanOrEqual(entryDataBytesMax)
    const deleted = await h.controller.deleteAcls({ filters: [{}] })
    expect(deleted.results?.[0]?.deleted).toHaveLength(6000)
    expect(h.image.acls().size).toBe(0)
  })

  test('an inactive controller answers NOT_CONTROLLER for every item', async () => {
    const h = harness()
    h.controller.deactivate()
    expect((await h.controller.createAcls({ creations: [binding(), binding()] })).results?.map((result) => result.errorCode))
      .toEqual([ErrorCode.NOT_CONTROLLER, ErrorCode.NOT_CONTROLLER])
    expect((await h.controller.deleteAcls({ filters: [{}] })).results?.map((result) => result.errorCode)).toEqual([ErrorCode.NOT_CONTROLLER])
  })
})
