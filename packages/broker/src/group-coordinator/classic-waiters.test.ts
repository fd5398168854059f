import { describe, expect, test } from 'vitest'
import type { JoinGroupResponse } from '@gregor/coordinator'
import { ClassicWaiters } from './classic-waiters.js'

const joined = (memberId: string, generationId: number): JoinGroupResponse => ({
  errorCode: '', errorMessage: '', generationId, protocolType: 'consumer', protocolName: 'range', leader: memberId, memberId, members: [],
})

describe('ClassicWaiters', () => {
  test('a delivery answers the waiting request of its group, member and kind only', async () => {
    const waiters = new ClassicWaiters()
    const join = waiters.park(3, 'g', 'm1', 'join')
    const sync = waiters.park(3, 'g', 'm1', 'sync')
    waiters.deliver('other', { joins: [{ memberId: 'm1', response: joined('m1', 9) }], syncs: [] })
    waiters.deliverAll({ joins: [{ groupId: 'g', memberId: 'm1', response: joined('m1', 2) }], syncs: [] })
    expect(await join).toMatchObject({ generationId: 2 })
    expect(waiters.size).toBe(1)
    waiters.deliver('g', { joins: [], syncs: [{ memberId: 'm1', response: { errorCode: '', errorMessage: '', protocolType: 'consumer', protocolName: 'range', assignment: Buffer.from('a') } }] })
    expect(Buffer.from((await sync as { assignment: Uint8Array }).assignment).toString()).toBe('a')
    expect(waiters.size).toBe(0)
  })

  test('an unloading partition fails its waiters only; an unawaited failure is no unhandled rejection', async () => {
    const waiters = new ClassicWaiters()
    const mine = waiters.park(1, 'g', 'm1', 'join')
    waiters.park(1, 'g', 'm2', 'join')
    const other = waiters.park(2, 'h', 'm3', 'join')
    waiters.failPartition(1, new Error('NOT_COORDINATOR'))
    await expect(mine).rejects.toThrow('NOT_COORDINATOR')
    expect(waiters.size).toBe(1)
    waiters.deliver('h', { joins: [{ memberId: 'm3', response: joined('m3', 1) }], syncs: [] })
    expect(await other).toMatchObject({ memberId: 'm3' })
  })

  test('a member that asks again while its request waits: the older is answered first, the newer waits for the next', async () => {
    const waiters = new ClassicWaiters()
    const older = waiters.park(1, 'g', 'm1', 'join')
    const newer = waiters.park(1, 'g', 'm1', 'join')
    const superseded: JoinGroupResponse = { ...joined('m1', -1), errorCode: 'REBALANCE_IN_PROGRESS' }
    waiters.deliver('g', { joins: [{ memberId: 'm1', response: superseded }], syncs: [] })
    expect(await older).toMatchObject({ errorCode: 'REBALANCE_IN_PROGRESS' })
    expect(waiters.size).toBe(1)
    waiters.deliver('g', { joins: [{ memberId: 'm1', response: joined('m1', 4) }], syncs: [] })
    expect(await newer).toMatchObject({ errorCode: '', generationId: 4 })
  })
})
