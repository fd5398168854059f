import { nodeId } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { decideBrokerFencing } from './broker-fencing.js'
import { decideBrokerRegistration } from './broker-registration.js'
import { decideOfflinePartitionElections } from './broker-unfencing.js'
import { decideIsrChange } from './isr-change.js'
import { NO_LEADER } from './metadata-record.js'
import { heartbeat, incarnationOf, livenessInput, scenario, topicIdOf } from './testing/metadata-scenario.js'

const nowMs = 10_000
const alive = (...ids: number[]) => livenessInput(nowMs, ids.map((id) => heartbeat(id, nowMs, 0)))
/** The partition with its ELR spelled out (absent = none). */
const state = (s: ReturnType<typeof scenario>, name: string) => ({ ...s.partition(name), elr: s.partition(name).elr ?? [] })
const unfence = (id: number, incarnationId = incarnationOf(id)) => [{ type: 'UnfenceBroker' as const, brokerId: nodeId(id), incarnationId }]

describe('eligible leader replicas (KIP-966; issue 10, defect 9)', () => {
  test('members that leave an ISR below min.insync.replicas stay electable; at the minimum again the ELR clears', () => {
    const s = scenario().brokers(1, 2, 3).topic('orders', [[1, 2, 3]], { config: { minInsyncReplicas: 2 } })
    // 3 leaves: the ISR is still at the minimum, so records commit without 3: not eligible.
    s.commit(decideIsrChange(s.image, { brokerId: nodeId(1), topicId: topicIdOf('orders'), partition: 0, leaderEpoch: s.partition('orders').leaderEpoch, partitionEpoch: s.partition('orders').partitionEpoch, newIsr: [nodeId(1), nodeId(2)] }).records)
    expect(state(s, 'orders')).toMatchObject({ isr: [1, 2], elr: [] })
    // 2 is fenced: the ISR drops below the minimum, nothing commits from here on, so 2 holds every committed record.
    s.commit(decideBrokerFencing(s.image, alive(1, 3)).records)
    expect(state(s, 'orders')).toMatchObject({ leader: 1, isr: [1], elr: [2] })
    // 1 is fenced too (the last ISR member stays, offline); 2 comes back and is elected from the ELR.
    s.commit(decideBrokerFencing(s.image, alive(3)).records)
    expect(state(s, 'orders')).toMatchObject({ leader: NO_LEADER, isr: [1], elr: [2] })
    s.commit(unfence(2))
    s.commit(decideOfflinePartitionElections(s.image).records)
    expect(state(s, 'orders')).toMatchObject({ leader: 2, isr: [2], elr: [1] })
    expect(s.image.invariantProblems()).toEqual([])
    // 1 catches up and rejoins: the ISR is at the minimum again and the ELR clears.
    s.commit(unfence(1))
    const p = s.partition('orders')
    s.commit(decideIsrChange(s.image, { brokerId: nodeId(2), topicId: topicIdOf('orders'), partition: 0, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsr: [nodeId(2), nodeId(1)] }).records)
    expect(state(s, 'orders')).toMatchObject({ leader: 2, isr: [2, 1], elr: [] })
  })

  test('an eligible replica whose disk was wiped is eligible no more: the partition stays offline', () => {
    const s = scenario()
    for (const id of [1, 2]) s.commit(decideBrokerRegistration(s.image, { brokerId: nodeId(id), incarnationId: incarnationOf(id), listeners: [{ name: 'INTERNAL', host: `b${id}`, port: 1 }], logDirId: `dir-${id}` }, alive(1, 2)).records)
    for (const id of [1, 2]) s.commit(unfence(id))
    s.topic('solo', [[1, 2]], { config: { minInsyncReplicas: 2 } })
    s.commit(decideBrokerFencing(s.image, alive(1)).records)
    expect(state(s, 'solo')).toMatchObject({ isr: [1], elr: [2] })
    s.commit(decideBrokerFencing(s.image, alive()).records)
    s.commit(decideBrokerRegistration(s.image, { brokerId: nodeId(2), incarnationId: 'b2-new', listeners: [{ name: 'INTERNAL', host: 'b2', port: 1 }], logDirId: 'dir-2-new' }, alive()).records)
    s.commit(unfence(2, 'b2-new'))
    s.commit(decideOfflinePartitionElections(s.image).records)
    expect(state(s, 'solo')).toMatchObject({ leader: NO_LEADER, isr: [1], elr: [] })
    expect(s.image.invariantProblems()).toEqual([])
  })
})
