import { ErrorCode, nodeId, raftIndex } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { decideBrokerFencing } from './broker-fencing.js'
import { connectionLost } from './broker-heartbeat.js'
import { decideOfflinePartitionElections } from './broker-unfencing.js'
import { type BrokerRegistrationRequest, decideBrokerRegistration, decideBrokerUnregistration } from './broker-registration.js'
import { metadataBatchBytes } from './metadata-record-codec.js'
import { NO_LEADER } from './metadata-record.js'
import { heartbeat, incarnationOf, livenessInput, scenario } from './testing/metadata-scenario.js'

const nowMs = 10_000
const request = (id: number, fields: Partial<BrokerRegistrationRequest> = {}): BrokerRegistrationRequest => ({
  brokerId: nodeId(id), incarnationId: incarnationOf(id), listeners: [{ name: 'INTERNAL', host: `broker-${id}`, port: 9092 }], ...fields,
})
const everyoneAlive = livenessInput(nowMs, [1, 2, 3].map((id) => heartbeat(id, nowMs, 0)))

describe('broker registration', () => {
  test('a new broker registers fenced', () => {
    const s = scenario()
    const decision = decideBrokerRegistration(s.image, request(1, { rack: 'az-1' }), everyoneAlive)
    expect(decision.records).toEqual([{ type: 'RegisterBroker', ...request(1, { rack: 'az-1' }) }])
    s.commit(decision.records)
    expect(s.image.broker(nodeId(1))).toMatchObject({ fenced: true, shuttingDown: false, rack: 'az-1' })
  })

  test('a retry from the same incarnation changes nothing', () => {
    const { image } = scenario().brokers(1)
    expect(decideBrokerRegistration(image, request(1), everyoneAlive)).toEqual({ records: [], complete: true })
  })

  test('the same incarnation with other listeners is refused', () => {
    const { image } = scenario().brokers(1)
    const moved = request(1, { listeners: [{ name: 'INTERNAL', host: 'elsewhere', port: 9092 }] })
    expect(() => decideBrokerRegistration(image, moved, everyoneAlive)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_REQUEST }))
  })

  test('a second process with the id of a live broker is refused, retriably (Kafka DUPLICATE_BROKER_REGISTRATION)', () => {
    const { image } = scenario().brokers(1)
    expect(() => decideBrokerRegistration(image, request(1, { incarnationId: 'incarnation-1-2' }), everyoneAlive)).toThrow(expect.objectContaining({
      code: ErrorCode.INVALID_REQUEST, retriable: true, details: expect.objectContaining({ kafkaCode: 'DUPLICATE_BROKER_REGISTRATION' }),
    }))
  })

  test('a restart whose old connection dropped replaces the old incarnation at once, taking it out of ISRs and leaderships', () => {
    const s = scenario().brokers(1, 2, 3).topic('orders', [[1, 2, 3], [2, 1, 3]]).topic('solo', [[1, 2]], { isr: [[1]] })
    const lost = connectionLost({ incarnationId: incarnationOf(1), lastHeartbeatMs: nowMs, metadataAppliedIndex: raftIndex(0) }, nowMs)!
    const input = livenessInput(nowMs + 5, [[nodeId(1), lost], heartbeat(2, nowMs, 0), heartbeat(3, nowMs, 0)])
    const decision = decideBrokerRegistration(s.image, request(1, { incarnationId: 'incarnation-1-2' }), input)
    expect(decision.replacedIncarnationId).toBe(incarnationOf(1))
    s.commit(decision.records)
    expect(s.image.broker(nodeId(1))).toMatchObject({ incarnationId: 'incarnation-1-2', fenced: true })
    expect(s.partition('orders', 0)).toMatchObject({ leader: 2, isr: [2, 3] })
    expect(s.partition('orders', 1)).toMatchObject({ leader: 2, isr: [2, 3] })
    expect(s.partition('solo')).toMatchObject({ leader: NO_LEADER, isr: [1] })
    expect(s.image.invariantProblems()).toEqual([])
  })

  test('a restart whose old incarnation is in too many ISRs for one batch moves them first, then registers', () => {
    const replicas = Array.from({ length: 24 }, (_, i) => [[1, 2, 3], [2, 1, 3], [3, 1, 2]][i % 3] ?? [])
    const s = scenario().brokers(1, 2, 3).topic('wide', replicas)
    const lost = connectionLost({ incarnationId: incarnationOf(1), lastHeartbeatMs: nowMs, metadataAppliedIndex: raftIndex(0) }, nowMs)!
    const input = livenessInput(nowMs + 5, [[nodeId(1), lost], heartbeat(2, nowMs, 0), heartbeat(3, nowMs, 0)])
    const batches = []
    for (let complete = false; !complete;) {
      const decision = decideBrokerRegistration(s.image, request(1, { incarnationId: 'incarnation-1-2' }), input, 700)
      expect(metadataBatchBytes(decision.records)).toBeLessThanOrEqual(700)
      expect(decision.records.some((record) => record.type === 'RegisterBroker')).toBe(decision.complete)
      s.commit(decision.records)
      expect(s.image.invariantProblems()).toEqual([])
      batches.push(decision.records)
      complete = decision.complete
      expect(batches.length).toBeLessThan(50)
    }
    expect(batches.length).toBeGreaterThan(2)
    expect(s.image.broker(nodeId(1))).toMatchObject({ incarnationId: 'incarnation-1-2', fenced: true })
    expect(s.image.partitions().every((partition) => !partition.isr.includes(nodeId(1)))).toBe(true)
  })

  test('#9 a restart with a wiped log directory (another log dir id) leaves every ISR, even as its last member, and is never elected there', () => {
    const s = scenario()
    for (const id of [1, 2, 3]) s.commit(decideBrokerRegistration(s.image, request(id, { logDirId: `dir-${id}` }), everyoneAlive).records)
    for (const id of [1, 2, 3]) s.commit([{ type: 'UnfenceBroker', brokerId: nodeId(id), incarnationId: incarnationOf(id) }])
    s.topic('orders', [[1, 2, 3]]).topic('solo', [[1, 2]], { isr: [[1]] })
    // Broker 1 dies and is fenced: it stays the last ISR member of solo-0 (offline), as without a wiped disk.
    s.commit(decideBrokerFencing(s.image, livenessInput(nowMs, [heartbeat(2, nowMs, 0), heartbeat(3, nowMs, 0)])).records)
    expect(s.partition('solo')).toMatchObject({ leader: NO_LEADER, isr: [1] })
    // It comes back on a new, empty disk: its registration names another log dir id.
    const decision = decideBrokerRegistration(s.image, request(1, { incarnationId: 'incarnation-1-2', logDirId: 'dir-1-new' }), everyoneAlive)
    s.commit(decision.records)
    expect(s.image.broker(nodeId(1))).toMatchObject({ incarnationId: 'incarnation-1-2', logDirId: 'dir-1-new', fenced: true })
    expect(s.partition('solo')).toMatchObject({ leader: NO_LEADER, isr: [] })
    expect(s.partition('orders').isr).not.toContain(1)
    expect(s.image.invariantProblems()).toEqual([])
    // Unfenced, it is elected nowhere: solo-0 stays offline rather than losing every acknowledged record.
    s.commit([{ type: 'UnfenceBroker', brokerId: nodeId(1), incarnationId: 'incarnation-1-2' }])
    s.commit(decideOfflinePartitionElections(s.image).records)
    expect(s.partition('solo')).toMatchObject({ leader: NO_LEADER, isr: [] })
    // The same directory again (a plain restart) is trusted as before.
    const again = decideBrokerRegistration(s.image, request(1, { incarnationId: 'incarnation-1-3', logDirId: 'dir-1-new' }), livenessInput(nowMs, []))
    expect(again.records.every((record) => record.type !== 'PartitionChange' || !('isr' in record) || record.isr?.length !== 0)).toBe(true)
  })

  test('a restart after the old incarnation was fenced needs no ISR changes', () => {
    const { image } = scenario().broker(1, { fenced: true })
    expect(decideBrokerRegistration(image, request(1, { incarnationId: 'incarnation-1-2' }), everyoneAlive).records).toHaveLength(1)
  })

  test.each([
    ['no listeners', { listeners: [] }, /registration.listeners must be a list of 1 to 16 items/],
    ['port 0', { listeners: [{ name: 'INTERNAL', host: 'h', port: 0 }] }, /listeners\[0\].port must be an integer in \[1, 65535\]/],
    ['a repeated listener name', { listeners: [{ name: 'A', host: 'h', port: 1 }, { name: 'A', host: 'h', port: 2 }] }, /must not repeat a listener name/],
    ['a host with spaces', { listeners: [{ name: 'A', host: 'a host', port: 1 }] }, /host must match/],
    ['an empty incarnation id', { incarnationId: '' }, /incarnationId must be a string/],
    ['a negative broker id', { brokerId: nodeId(-1) }, /brokerId must be an integer/],
    ['an empty rack', { rack: '' }, /rack must be a string/],
  ])('refuses a registration with %s', (_name, fields, message) => {
    expect(() => decideBrokerRegistration(scenario().image, request(1, fields), everyoneAlive)).toThrow(expect.objectContaining({
      code: ErrorCode.INVALID_REQUEST, message: expect.stringMatching(/^invalid broker registration: /),
    }))
    expect(() => decideBrokerRegistration(scenario().image, request(1, fields), everyoneAlive)).toThrow(message)
  })
})

describe('broker unregistration', () => {
  test('a fenced broker is removed', () => {
    const s = scenario().brokers(1).broker(2, { fenced: true })
    s.commit(decideBrokerUnregistration(s.image, { brokerId: nodeId(2) }).records)
    expect(s.image.broker(nodeId(2))).toBeUndefined()
  })

  test('an unfenced broker must be stopped first', () => {
    const { image } = scenario().brokers(1)
    expect(() => decideBrokerUnregistration(image, { brokerId: nodeId(1) })).toThrow(/stop it and let it be fenced/)
  })

  test('an unknown broker is refused', () => {
    expect(() => decideBrokerUnregistration(scenario().image, { brokerId: nodeId(4) }))
      .toThrow(expect.objectContaining({ details: expect.objectContaining({ kafkaCode: 'BROKER_ID_NOT_REGISTERED' }) }))
  })
})
