import { isGregorError, type Logger, nodeId, raftIndex, seededRng, silentLogger, term } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { MemoryStorage } from './memory-storage.js'
import { message } from './message.js'
import { defaultRaftConfig, type RaftConfig } from './raft-config.js'
import { RawNode } from './raw-node.js'
import { bytes, InMemoryCluster } from './testing/in-memory-cluster.js'

const voters = [nodeId(1), nodeId(2), nodeId(3)]
const config = (overrides: Partial<RaftConfig> = {}): RaftConfig => ({ ...defaultRaftConfig, id: nodeId(1), voters, appliedIndex: raftIndex(0), ...overrides })

function codeOf (run: () => unknown): string | undefined {
  try {
    run()
  } catch (error) {
    return isGregorError(error) ? error.code : (error as Error).name
  }
  return undefined
}

function storageWithSnapshot (snapshotIndex: number, commitIndex: number): MemoryStorage {
  const storage = new MemoryStorage({ voters })
  storage.applySnapshot({ metadata: { index: raftIndex(snapshotIndex), term: term(2), voters }, data: new Uint8Array(0) })
  storage.append([{ index: raftIndex(snapshotIndex + 1), term: term(2), data: bytes('a') }])
  storage.setHardState({ term: term(2), vote: nodeId(2), commitIndex: raftIndex(commitIndex) })
  return storage
}

describe('RawNode', () => {
  test('the Ready protocol is enforced: advance the Ready you got before asking for another', () => {
    const node = new RawNode(config(), { storage: new MemoryStorage({ voters }), rng: seededRng(1), logger: silentLogger })
    node.campaign()
    const ready = node.ready()
    expect(codeOf(() => node.ready())).toBe('AssertionError')
    expect(codeOf(() => node.advance({ ...ready }))).toBe('AssertionError')
    node.advance(ready)
    expect(node.hasReady()).toBe(false)
  })

  test('the core keeps new entries in memory until the application persists them', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    const storage = c.get(1).storage
    const lastIndex = storage.lastIndex()
    c.raw(1).propose(bytes('x'))
    expect(storage.lastIndex()).toBe(lastIndex)
    expect(c.status(1).lastIndex).toBe(lastIndex + 1)
    c.processReady(1)
    expect(storage.lastIndex()).toBe(lastIndex + 1)
  })

  test('a follower learning a new commit index from a heartbeat gets a Ready that needs no sync', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    c.propose(1, 'x')
    for (const m of c.takeMessages((m) => m.type === 'append')) c.deliver(m) // both followers store entry 2
    for (const m of c.takeMessages((m) => m.from === 3)) c.deliver(m) // node 3's ack commits it on the leader
    c.takeMessages((m) => m.type === 'append') // the appends announcing the commit are lost
    c.stabilize() // node 2's ack arrives
    expect(c.status(2)).toMatchObject({ lastIndex: 2, commitIndex: 1 })
    const before = c.get(2).readies.length
    c.tick(1, 1)
    c.stabilize()
    const [ready] = c.get(2).readies.slice(before)
    expect(ready?.hardState).toEqual({ term: 1, vote: 1, commitIndex: 2 })
    expect(ready?.entries).toEqual([])
    expect(ready?.mustSync).toBe(false)
  })

  test('a restart raises the commit index to the snapshot index when an unsynced hard state was lost', () => {
    const node = new RawNode(config({ appliedIndex: raftIndex(5) }), { storage: storageWithSnapshot(5, 2), rng: seededRng(1), logger: silentLogger })
    expect(node.status()).toMatchObject({ term: 2, vote: 2, commitIndex: 5, appliedIndex: 5, firstIndex: 6, lastIndex: 6 })
    expect(node.ready().hardState).toEqual({ term: 2, vote: 2, commitIndex: 5 })
  })

  test('the constructor refuses an applied index the storage cannot support, and other voters than stored', () => {
    const deps = { rng: seededRng(1), logger: silentLogger }
    expect(codeOf(() => new RawNode(config(), { ...deps, storage: storageWithSnapshot(5, 5) }))).toBe('INVALID_CONFIG')
    expect(codeOf(() => new RawNode(config({ appliedIndex: raftIndex(7) }), { ...deps, storage: storageWithSnapshot(5, 5) }))).toBe('INVALID_CONFIG')
    const otherVoters = new MemoryStorage({ voters: [nodeId(1), nodeId(4)] })
    expect(codeOf(() => new RawNode(config(), { ...deps, storage: otherVoters }))).toBe('INVALID_CONFIG')
    expect(codeOf(() => new RawNode(config({ electionTicks: 0 }), { ...deps, storage: new MemoryStorage({ voters }) }))).toBe('INVALID_CONFIG')
  })

  test('every state transition is logged at info with a constant lower-case message and fields', () => {
    const lines: Array<{ level: string, fields: Record<string, unknown>, message: string }> = []
    const capture = (bindings: Record<string, unknown>): Logger => {
      const log = (level: string) => (fields: Record<string, unknown>, message: string): void => { lines.push({ level, fields: { ...bindings, ...fields }, message }) }
      return { child: (more) => capture({ ...bindings, ...more }), trace: log('trace'), debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }
    }
    const c = new InMemoryCluster({ size: 3, logger: capture({}) })
    c.elect(1)
    c.raw(1).transferLeadership(nodeId(2))
    c.stabilize()
    const info = lines.filter((line) => line.level === 'info')
    expect(new Set(info.map((line) => line.message))).toEqual(new Set([
      'raft node started', 'became follower', 'became pre-candidate', 'starting election', 'became candidate', 'became leader',
      'leader changed', 'leadership transfer started', 'sent timeout now', 'campaigning on leadership transfer',
    ]))
    for (const line of lines) {
      expect(line.message).toMatch(/^[a-z][a-z -]*$/)
      expect(line.fields).toMatchObject({ component: 'raft' })
    }
    expect(info.find((line) => line.message === 'became leader')?.fields).toMatchObject({ nodeId: 1, term: 1, leaderId: 1 })
  })

  test('status reports the log bounds', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    c.propose(1, 'x')
    c.stabilize()
    expect(c.status(2)).toEqual({ id: 2, term: 1, vote: 1, role: 'follower', leaderId: 1, commitIndex: 2, appliedIndex: 2, lastIndex: 2, firstIndex: 1 })
  })

  test('a message arriving between ready() and advance() is handled and its output comes in the next Ready', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    const follower = c.raw(2)
    c.propose(1, 'x')
    const [append] = c.takeMessages((m) => m.to === 2 && m.type === 'append')
    c.tick(2, 1)
    follower.step(message({ type: 'heartbeat', from: nodeId(1), to: nodeId(2), term: term(1), commitIndex: raftIndex(1) }))
    const first = follower.ready()
    follower.step(append as never)
    c.get(2).storage.append(first.entries)
    follower.advance(first)
    const second = follower.ready()
    expect(second.entries.map((e) => e.index)).toEqual([2])
    expect(second.messages.map((m) => [m.type, m.index])).toEqual([['appendResponse', 2]])
  })
  test('activeVoters: on the leader, itself and the voters that answered it in this or the last CheckQuorum round', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    expect(c.raw(2).activeVoters()).toEqual([])
    expect(c.raw(1).activeVoters()).toEqual([1, 2, 3])
    // Node 3 dies: it stays "active" through the round it answered in, then drops out.
    c.isolate(3)
    const { electionTicks } = defaultRaftConfig
    for (let round = 0; round < 2; round++) {
      for (let tick = 0; tick < electionTicks; tick++) {
        c.tick(1)
        c.stabilize()
      }
    }
    expect(c.raw(1).activeVoters()).toEqual([1, 2])
  })
})
