/**
 * The rules of the Raft paper (Ongaro & Ousterhout 2014) and thesis (Ongaro 2014), one scenario each, organised by
 * section (etcd's raft_paper_test.go). Each test sets up a cluster with InMemoryCluster, drives it step by step and
 * checks what the section promises.
 */
import { isGregorError, nodeId, raftIndex } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { bytes, InMemoryCluster, text } from './testing/in-memory-cluster.js'
import type { Message } from './types.js'

const electionTicks = 10

function expectDropped (run: () => unknown, leaderId: number): void {
  try {
    run()
  } catch (error) {
    expect(isGregorError(error) && error.code).toBe('PROPOSAL_DROPPED')
    expect(isGregorError(error) && error.details.leaderId).toBe(leaderId)
    return
  }
  throw new Error('expected PROPOSAL_DROPPED')
}

function errorCode (run: () => unknown): string | undefined {
  try {
    run()
  } catch (error) {
    return isGregorError(error) ? error.code : 'not a GregorError'
  }
  return undefined
}

/** Ticks every node once and delivers everything, `rounds` times (time passing on a healthy network). */
function run (c: InMemoryCluster, rounds: number): void {
  for (let i = 0; i < rounds; i++) {
    c.tickAll()
    c.stabilize()
  }
}

describe('§5.2 leader election', () => {
  test('a follower that hears from no leader for an election timeout campaigns and wins with a majority', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.tick(1, 2 * electionTicks)
    expect(c.status(1).role).toBe('preCandidate')
    c.stabilize()
    expect(c.status(1)).toMatchObject({ role: 'leader', term: 1, leaderId: 1 })
    for (const id of [2, 3]) expect(c.status(id)).toMatchObject({ role: 'follower', term: 1, leaderId: 1, vote: 1 })
  })

  test('election timeouts are randomized within [electionTicks, 2 * electionTicks)', () => {
    const timeouts = new Set<number>()
    for (let seed = 1; seed <= 40; seed++) {
      const c = new InMemoryCluster({ size: 3, seed })
      let ticks = 0
      while (c.status(1).role === 'follower') {
        c.tick(1)
        ticks++
      }
      expect(ticks).toBeGreaterThanOrEqual(electionTicks)
      expect(ticks).toBeLessThan(2 * electionTicks)
      timeouts.add(ticks)
    }
    expect(timeouts.size).toBeGreaterThan(4)
  })

  test('a voter grants at most one vote per term, first come first served, and persists it before answering', () => {
    const c = new InMemoryCluster({ size: 3, config: { preVote: false } })
    c.campaign(1)
    c.campaign(2)
    for (const m of c.takeMessages((m) => m.to === 3)) c.deliver(m)
    const responses = c.takeMessages((m) => m.from === 3)
    expect(responses.map((m) => [m.type, m.to, m.reject])).toEqual([['voteResponse', 1, false], ['voteResponse', 2, true]])
    expect(c.status(3)).toMatchObject({ term: 1, vote: 1 })
    const grant = c.get(3).readies.find((ready) => ready.messages.some((m) => m.type === 'voteResponse' && !m.reject))
    expect(grant?.hardState).toMatchObject({ term: 1, vote: 1 })
    expect(grant?.mustSync).toBe(true)
    expect(c.get(3).storage.hardState().vote).toBe(1)
  })

  test('a candidate that a majority rejects returns to follower, and one that hears from the leader follows it', () => {
    const c = new InMemoryCluster({ size: 3, config: { preVote: false } })
    c.campaign(1)
    c.campaign(2)
    // Votes first: 3 grants 1 (first to ask), 1 and 2 reject each other.
    for (const m of c.takeMessages((m) => m.type === 'vote')) c.deliver(m)
    for (const m of c.takeMessages((m) => m.type === 'voteResponse' && m.to === 2)) c.deliver(m)
    expect(c.status(2)).toMatchObject({ role: 'follower', term: 1, leaderId: 0 })
    c.stabilize()
    expect(c.status(1).role).toBe('leader')
    expect(c.status(2)).toMatchObject({ role: 'follower', term: 1, leaderId: 1 })
  })

  test('a node that sees a higher term adopts it and becomes follower (§5.1)', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    c.raw(1).step({ type: 'heartbeatResponse', from: nodeId(2), to: nodeId(1), term: 5 as never, logTerm: 0 as never, index: raftIndex(0), entries: [], commitIndex: raftIndex(0), reject: false, rejectHint: raftIndex(0), context: new Uint8Array(0) })
    expect(c.status(1)).toMatchObject({ role: 'follower', term: 5, leaderId: 0, vote: 0 })
  })

  test('a deposed leader learns the new term from the answer to its stale heartbeat (§5.1)', () => {
    const c = new InMemoryCluster({ size: 3, config: { checkQuorum: false } })
    c.elect(1)
    c.isolate(1)
    c.elect(2)
    c.heal()
    c.tick(1, 1) // heartbeat of term 1
    c.stabilize()
    expect(c.status(1)).toMatchObject({ role: 'follower', term: 2 })
    c.tick(2, 1) // and follows the new leader from its next heartbeat
    c.stabilize()
    expect(c.status(1).leaderId).toBe(2)
  })

  test('a single voter elects itself at once', () => {
    const c = new InMemoryCluster({ size: 1 })
    c.campaign(1)
    expect(c.status(1)).toMatchObject({ role: 'leader', term: 1 })
    c.propose(1, 'solo')
    expect(c.appliedText(1)).toEqual(['solo'])
  })

  test('split votes resolve in a later term thanks to randomized timeouts', () => {
    const c = new InMemoryCluster({ size: 3, config: { preVote: false } })
    for (const id of [1, 2, 3]) c.campaign(id)
    c.stabilize()
    expect(c.leader()).toBeUndefined()
    for (let i = 0; i < 10 * electionTicks && c.leader() === undefined; i++) run(c, 1)
    const leader = c.leader()
    expect(leader).toBeDefined()
    expect(c.status(leader as number).term).toBeGreaterThanOrEqual(2)
  })
})

describe('§5.3 log replication', () => {
  test('the leader commits an entry once a majority stored it; followers apply it once they learn the commit', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    c.isolate(3)
    const { index } = c.propose(1, 'x')
    c.stabilize()
    expect(c.status(1).commitIndex).toBe(index)
    expect(c.appliedText(1)).toEqual(['x'])
    expect(c.appliedText(2)).toEqual(['x'])
    expect(c.status(3).lastIndex).toBe(1)
    c.heal()
    run(c, 1)
    expect(c.appliedText(3)).toEqual(['x'])
  })

  test('new entries and the appends that carry them leave in one Ready that must be synced first', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    const before = c.get(1).readies.length
    c.propose(1, 'y')
    const ready = c.get(1).readies[before]
    expect(ready?.entries.map((e) => text(e.data))).toEqual(['y'])
    expect(ready?.mustSync).toBe(true)
    expect(ready?.messages.filter((m) => m.type === 'append').map((m) => m.to)).toEqual([2, 3])
    // A commit-index-only change needs no sync.
    c.stabilize()
    const commitOnly = c.get(1).readies.slice(before + 1).find((r) => r.entries.length === 0 && r.hardState !== undefined)
    expect(commitOnly?.mustSync).toBe(false)
  })

  test('a follower overwrites its conflicting uncommitted entries with the leader\'s (Fig. 7 f)', () => {
    // Leader for term 8 and follower (a) and (f) of Fig. 7.
    const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6]
    const c = new InMemoryCluster({ size: 3, logs: { 1: leaderLog, 2: [1, 1, 1, 4, 4, 5, 5, 6, 6], 3: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3] } })
    c.elect(1)
    const rejections = c.get(3).readies.flatMap((r) => r.messages).filter((m) => m.type === 'appendResponse' && m.reject)
    for (const id of [1, 2, 3]) expect(c.logTerms(id)).toEqual([...leaderLog, c.status(1).term])
    // Fast backtracking (reject hints by term) needs far fewer round trips than the 8 conflicting entries.
    expect(rejections.length).toBeLessThanOrEqual(2)
  })

  test('each append carries at most messageBytesMax of entries (but always at least one)', () => {
    const c = new InMemoryCluster({ size: 3, config: { messageBytesMax: 100 } })
    c.elect(1)
    c.isolate(3)
    for (let i = 0; i < 6; i++) c.propose(1, 'x'.repeat(40))
    c.stabilize()
    c.heal()
    const appends: Message[] = []
    for (let round = 0; round < 20; round++) {
      c.tickAll()
      const batch = c.takeMessages()
      appends.push(...batch.filter((m) => m.type === 'append' && m.to === 3))
      for (const m of batch) c.deliver(m)
    }
    expect(c.status(3).lastIndex).toBe(c.status(1).lastIndex)
    for (const m of appends) {
      const size = m.entries.reduce((sum, e) => sum + e.data.length + 16, 0)
      expect(m.entries.length <= 1 || size <= 100).toBe(true)
    }
    expect(appends.some((m) => m.entries.length > 0)).toBe(true)
  })

  test('at most inflightMessagesMax appends are in flight to a follower in replicate state', () => {
    const c = new InMemoryCluster({ size: 3, config: { inflightMessagesMax: 2 } })
    c.elect(1)
    for (let i = 0; i < 5; i++) c.propose(1, `e${i}`)
    expect(c.inFlight.filter((m) => m.type === 'append' && m.to === 2)).toHaveLength(2)
    c.stabilize()
    expect(c.appliedText(2)).toEqual(['e0', 'e1', 'e2', 'e3', 'e4'])
  })

  test('heartbeats carry min(commit index, follower match) so a lagging follower never commits what it lacks', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    c.cutOneWay(1, 3)
    c.propose(1, 'x')
    c.stabilize()
    c.heal()
    c.tick(1, 1)
    const heartbeats = c.takeMessages((m) => m.type === 'heartbeat')
    expect(heartbeats.map((m) => [m.to, m.commitIndex])).toEqual([[2, 2], [3, 1]])
  })

  test('a proposal to a follower is dropped with the leader id; over uncommittedBytesMax a leader drops it too', () => {
    const c = new InMemoryCluster({ size: 3, config: { uncommittedBytesMax: 100 } })
    c.elect(1)
    expectDropped(() => c.propose(2, 'x'), 1)
    c.isolate(1)
    c.propose(1, 'a'.repeat(40))
    c.propose(1, 'b'.repeat(40))
    expectDropped(() => c.propose(1, 'c'.repeat(40)), 1)
    c.heal()
    c.stabilize()
    expect(c.appliedText(1)).toEqual(['a'.repeat(40), 'b'.repeat(40)])
    c.propose(1, 'c'.repeat(40))
  })
})

describe('§5.4.1 election restriction', () => {
  test('a voter rejects a candidate whose last entry has a lower term', () => {
    const c = new InMemoryCluster({ size: 3, config: { preVote: false }, logs: { 1: [1, 1, 1], 2: [1, 2], 3: [1] } })
    c.campaign(1)
    for (const m of c.takeMessages()) c.deliver(m)
    const answers = c.takeMessages((m) => m.type === 'voteResponse')
    expect(answers.map((m) => [m.from, m.reject])).toEqual([[2, true], [3, false]])
  })

  test('with equal last terms, a voter rejects a shorter log and grants an equal or longer one', () => {
    const c = new InMemoryCluster({ size: 3, config: { preVote: false }, logs: { 1: [1, 1], 2: [1, 1, 1], 3: [1, 1] } })
    c.campaign(1)
    for (const m of c.takeMessages()) c.deliver(m)
    expect(c.takeMessages((m) => m.type === 'voteResponse').map((m) => [m.from, m.reject])).toEqual([[2, true], [3, false]])
  })

  test('a node missing a committed entry cannot become leader', () => {
    const c = new InMemoryCluster({ size: 3, config: { checkQuorum: false } })
    c.elect(1)
    c.isolate(3)
    c.propose(1, 'committed')
    c.stabilize()
    c.heal()
    c.isolate(1)
    c.campaign(3)
    c.stabilize()
    expect(c.status(3).role).not.toBe('leader')
    c.elect(2)
    expect(c.appliedText(2)).toEqual(['committed'])
  })
})

describe('§5.4.2 committing entries from previous terms', () => {
  test('a new leader appends an empty entry of its own term', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    const storage = c.get(1).storage
    const last = storage.entries(storage.lastIndex(), raftIndex(storage.lastIndex() + 1), 1000)[0]
    expect(last).toMatchObject({ term: 1, index: 1 })
    expect(last?.data.length).toBe(0)
  })

  test('an entry of an earlier term on a majority is not committed by counting; the current-term entry commits it (Fig. 8)', () => {
    // Node 1 holds entry 2 of term 2 that nobody else has; it wins term 3 and replicates entry by entry.
    const c = new InMemoryCluster({ size: 3, config: { messageBytesMax: 1 }, logs: { 1: [1, 2], 2: [1], 3: [1] } })
    c.isolate(3)
    // Let entry 2 reach node 2, but not the new leader's entry 3 (yet).
    c.dropIf = (m) => m.type === 'append' && m.to === 2 && m.entries.some((e) => e.index === 3) && c.status(2).lastIndex >= 2
    c.elect(1)
    expect(c.status(1).term).toBe(3)
    expect(c.logTerms(2)).toEqual([1, 2]) // entry 2 (term 2) is now on a majority: nodes 1 and 2
    expect(c.status(1).commitIndex).toBe(0) // ...and still not committed
    c.heal()
    c.isolate(3)
    run(c, 2)
    expect(c.logTerms(2)).toEqual([1, 2, 3])
    expect(c.status(1).commitIndex).toBe(3)
    expect(c.appliedText(1)).toEqual(['t1i1', 't2i2'])
  })
})

describe('§9.6 PreVote', () => {
  test('pre-votes change neither the voters\' term nor their vote', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.campaign(1)
    expect(c.status(1)).toMatchObject({ role: 'preCandidate', term: 0 })
    const preVotes = c.takeMessages()
    expect(preVotes.map((m) => [m.type, m.term])).toEqual([['preVote', 1], ['preVote', 1]])
    for (const m of preVotes) c.deliver(m)
    for (const id of [2, 3]) expect(c.status(id)).toMatchObject({ term: 0, vote: 0 })
    c.stabilize()
    expect(c.status(1)).toMatchObject({ role: 'leader', term: 1 })
  })

  test('an isolated node does not inflate its term, so it does not disrupt the leader when it returns', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    c.isolate(3)
    c.tick(3, 10 * electionTicks)
    expect(c.status(3)).toMatchObject({ role: 'preCandidate', term: 1 })
    c.heal()
    run(c, 3 * electionTicks)
    expect(c.leader()).toBe(1)
    expect(c.status(1).term).toBe(1)
    expect(c.status(3)).toMatchObject({ role: 'follower', leaderId: 1, term: 1 })
  })

  test('without PreVote the same isolated node does disrupt the leader (for contrast)', () => {
    const c = new InMemoryCluster({ size: 3, config: { preVote: false, checkQuorum: false } })
    c.elect(1)
    c.isolate(3)
    c.tick(3, 10 * electionTicks)
    expect(c.status(3).term).toBeGreaterThan(5)
    c.heal()
    run(c, 3 * electionTicks)
    expect(c.status(1).term).toBeGreaterThan(5)
  })

  test('a pre-candidate whose log is behind is refused and stays in its term', () => {
    const c = new InMemoryCluster({ size: 3, logs: { 1: [1], 2: [1, 1], 3: [1, 1] } })
    c.campaign(1)
    c.stabilize()
    expect(c.status(1)).toMatchObject({ role: 'follower', term: 1 })
  })
})

describe('§6.2 CheckQuorum and the leader lease', () => {
  test('a leader that has not heard from a majority within an election timeout steps down', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    c.isolate(1)
    c.tick(1, 2 * electionTicks)
    expect(c.status(1)).toMatchObject({ role: 'follower', leaderId: 0, term: 1 })
    expectDropped(() => c.propose(1, 'x'), 0)
  })

  test('a leader that keeps hearing from a majority stays leader', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    c.isolate(3)
    for (let i = 0; i < 5 * electionTicks; i++) {
      c.tick(1)
      c.tick(2)
      c.stabilize()
    }
    expect(c.status(1)).toMatchObject({ role: 'leader', term: 1 })
  })

  test('a node that heard from the leader within the election timeout ignores vote requests', () => {
    const c = new InMemoryCluster({ size: 3, config: { preVote: false } })
    c.elect(1)
    c.isolate(3)
    while (c.status(3).role !== 'candidate') c.tick(3)
    expect(c.status(3).term).toBe(2)
    c.heal()
    for (const m of c.takeMessages()) c.deliver(m)
    expect(c.inFlight.filter((m) => m.type === 'voteResponse')).toEqual([])
    expect(c.status(1)).toMatchObject({ role: 'leader', term: 1 })
    expect(c.status(2)).toMatchObject({ term: 1, vote: 1 })
  })

  test('once the lease has expired the same request is granted', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    c.isolate(1)
    c.tick(2, electionTicks - 1) // node 2 last heard from the leader electionTicks - 1 ticks ago: still leased
    c.campaign(3)
    for (const m of c.takeMessages((m) => m.to === 2)) c.deliver(m)
    expect(c.takeMessages((m) => m.from === 2 && m.type === 'preVoteResponse')).toEqual([])
    c.tick(2, 1) // the lease is over (node 2 may itself be starting a pre-vote now: either way it knows no leader)
    c.takeMessages()
    c.campaign(3)
    for (const m of c.takeMessages((m) => m.to === 2)) c.deliver(m)
    expect(c.takeMessages((m) => m.from === 2 && m.to === 3).map((m) => [m.type, m.reject])).toEqual([['preVoteResponse', false]])
  })
})

describe('failure hints (etcd ForgetLeader): the lease ends when the leader is known to be gone', () => {
  /** Ticks nodes 2 and 3 `rounds` times on the network as it is, delivering everything after each round. */
  function tickFollowers (c: InMemoryCluster, rounds: number): void {
    for (let i = 0; i < rounds; i++) {
      c.tick(2)
      c.tick(3)
      c.stabilize()
    }
  }

  test('followers told that the leader died elect a new one within electionTicks - 1 ticks; untold, they still wait', () => {
    for (const told of [true, false]) {
      const c = new InMemoryCluster({ size: 3 })
      c.elect(1)
      c.isolate(1) // the leader's process is gone
      if (told) {
        c.raw(2).forgetLeader(nodeId(1))
        c.raw(3).forgetLeader(nodeId(1))
        c.processAll()
        expect(c.status(2).leaderId).toBe(0)
      }
      tickFollowers(c, electionTicks - 1)
      const leader = [2, 3].find((id) => c.status(id).role === 'leader')
      if (told) {
        expect(leader).toBeDefined()
        expect(c.status(leader as number).term).toBe(2)
      } else {
        expect(leader).toBeUndefined()
        expect(c.status(2)).toMatchObject({ term: 1, leaderId: 1 })
      }
    }
  })

  test('after a hint the followers take turns (issue 12): the lowest id campaigns two ticks on and wins term 2, never a split vote', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const c = new InMemoryCluster({ size: 3, seed })
      c.elect(1)
      c.isolate(1)
      c.raw(2).forgetLeader(nodeId(1))
      c.raw(3).forgetLeader(nodeId(1))
      c.processAll()
      tickFollowers(c, 2)
      expect(c.status(2)).toMatchObject({ role: 'leader', term: 2 })
      expect(c.status(3)).toMatchObject({ role: 'follower', leaderId: 2, term: 2 })
      // The second turn never comes: the winner's appends keep resetting node 3's timer.
      tickFollowers(c, 2 * electionTicks)
      expect(c.status(2)).toMatchObject({ role: 'leader', term: 2 })
    }
  })

  test('after a hint, when the first in turn has the shorter log, the next in turn wins half an election timeout later', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    c.cutLink(1, 2)
    c.propose(1, 'only-1-and-3')
    c.stabilize()
    c.isolate(1)
    c.raw(2).forgetLeader(nodeId(1))
    c.raw(3).forgetLeader(nodeId(1))
    c.processAll()
    tickFollowers(c, 2)
    // Node 2 asked first and was refused: node 3's log is longer.
    expect([c.status(2).role, c.status(3).role]).not.toContain('leader')
    expect(c.status(3).term).toBe(1)
    tickFollowers(c, electionTicks / 2)
    expect(c.status(3)).toMatchObject({ role: 'leader', term: 2 })
    expect(c.status(2)).toMatchObject({ role: 'follower', leaderId: 3, term: 2 })
  })

  test('a wrong hint does not disturb a live leader: the other follower is in its lease, the next heartbeat restores it', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    c.raw(2).forgetLeader(nodeId(1))
    c.processAll()
    expect(c.status(2).leaderId).toBe(0)
    run(c, 3 * electionTicks)
    expect(c.leader()).toBe(1)
    expect(c.status(1).term).toBe(1)
    expect(c.status(2)).toMatchObject({ role: 'follower', leaderId: 1, term: 1 })
  })

  test('a hint about a node that is not this follower\'s leader, or given to the leader itself, changes nothing', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    c.raw(2).forgetLeader(nodeId(3))
    c.raw(1).forgetLeader(nodeId(1))
    expect(c.raw(2).hasReady()).toBe(false)
    expect(c.status(2).leaderId).toBe(1)
    expect(c.status(1)).toMatchObject({ role: 'leader', leaderId: 1 })
  })
})

describe('§3.10 leadership transfer', () => {
  test('an up-to-date target gets timeoutNow, campaigns past the leader lease and wins', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    c.raw(1).transferLeadership(nodeId(2))
    c.processReady(1)
    expect(c.inFlight.map((m) => [m.type, m.to])).toEqual([['timeoutNow', 2]])
    c.deliverAll()
    expect(c.inFlight.filter((m) => m.type === 'vote').every((m) => m.transfer === true)).toBe(true)
    c.stabilize()
    expect(c.leader()).toBe(2)
    expect(c.status(2).term).toBe(2)
    expect(c.status(1)).toMatchObject({ role: 'follower', leaderId: 2 })
  })

  test('a lagging target is caught up first', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    c.isolate(3)
    c.propose(1, 'x')
    c.stabilize()
    c.heal()
    c.raw(1).transferLeadership(nodeId(3))
    c.processReady(1)
    expect(c.inFlight.map((m) => [m.type, m.to])).toEqual([['append', 3]])
    c.stabilize()
    expect(c.leader()).toBe(3)
    expect(c.appliedText(3)).toEqual(['x'])
  })

  test('proposals are dropped during a transfer, which is aborted after an election timeout', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    c.isolate(3)
    c.raw(1).transferLeadership(nodeId(3))
    expectDropped(() => c.propose(1, 'x'), 1)
    for (let i = 0; i < electionTicks; i++) {
      c.tick(1)
      c.stabilize()
    }
    expect(c.status(1).role).toBe('leader')
    c.propose(1, 'x')
  })

  test('a non-leader ignores the request; a target that is not a voter is invalid', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    c.raw(2).transferLeadership(nodeId(3))
    expect(c.raw(2).hasReady()).toBe(false)
    expect(errorCode(() => c.raw(1).transferLeadership(nodeId(9)))).toBe('INVALID_REQUEST')
  })
})

describe('§6.4 ReadIndex', () => {
  test('the leader answers with its commit index after a heartbeat round confirms its leadership', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    const { index } = c.propose(1, 'x')
    c.stabilize()
    c.raw(1).readIndex(bytes('r1'))
    c.processReady(1)
    expect(c.get(1).readStates).toEqual([])
    expect(c.inFlight.map((m) => [m.type, text(m.context)])).toEqual([['heartbeat', 'r1'], ['heartbeat', 'r1']])
    c.stabilize()
    expect(c.get(1).readStates).toEqual([{ index, context: bytes('r1') }])
  })

  test('a leader cut off from the majority cannot confirm, so the read stays pending', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    c.isolate(1)
    c.raw(1).readIndex(bytes('r'))
    c.stabilize()
    expect(c.get(1).readStates).toEqual([])
  })

  test('a new leader serves reads only after an entry of its term commits', () => {
    const c = new InMemoryCluster({ size: 3, logs: { 1: [1, 1], 2: [1], 3: [1] } })
    c.dropIf = (m) => m.type === 'append'
    c.elect(1)
    c.raw(1).readIndex(bytes('r'))
    c.processReady(1)
    expect(c.inFlight.filter((m) => m.context.length > 0)).toEqual([])
    c.heal()
    run(c, 1)
    expect(c.get(1).readStates).toEqual([{ index: 3, context: bytes('r') }])
  })

  test('followers refuse with PROPOSAL_DROPPED naming the leader; a single voter answers at once', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    expectDropped(() => c.raw(2).readIndex(bytes('r')), 1)
    const solo = new InMemoryCluster({ size: 1 })
    solo.campaign(1)
    solo.raw(1).readIndex(bytes('s'))
    solo.processReady(1)
    expect(solo.get(1).readStates).toEqual([{ index: 1, context: bytes('s') }])
  })
})

describe('§7 snapshots', () => {
  test('a follower that needs compacted entries gets the snapshot, installs it from Ready.snapshot and catches up', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    c.isolate(3)
    for (let i = 0; i < 5; i++) c.propose(1, `e${i}`)
    c.stabilize()
    c.compact(1, raftIndex(4))
    c.heal()
    run(c, 2)
    const node3 = c.get(3)
    const install = node3.readies.find((ready) => ready.snapshot !== undefined)
    expect(install?.snapshot?.metadata).toMatchObject({ index: 4, term: 1 })
    expect(install?.mustSync).toBe(true)
    expect(install?.committedEntries).toEqual([])
    expect(node3.storage.firstIndex()).toBe(5)
    expect(c.status(3)).toMatchObject({ commitIndex: 6, appliedIndex: 6, lastIndex: 6 })
    expect(c.appliedText(3)).toEqual(['e3', 'e4'])
  })

  test('a lost snapshot is sent again', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    c.isolate(3)
    c.propose(1, 'a')
    c.stabilize()
    c.compact(1, raftIndex(2))
    c.heal()
    let sent = 0
    c.dropIf = (m) => m.type === 'snapshot' && ++sent === 1
    run(c, 4 * electionTicks)
    expect(sent).toBeGreaterThanOrEqual(2)
    expect(c.status(3).commitIndex).toBe(2)
  })

  test('a node restarts from its snapshot and the entries after it', () => {
    const c = new InMemoryCluster({ size: 3 })
    c.elect(1)
    for (let i = 0; i < 4; i++) c.propose(1, `e${i}`)
    c.stabilize()
    c.compact(2, raftIndex(3))
    c.restart(2)
    expect(c.status(2)).toMatchObject({ firstIndex: 4, appliedIndex: 3, commitIndex: 5, term: 1 })
    c.processReady(2)
    expect(c.appliedText(2)).toEqual(['e2', 'e3'])
    c.propose(1, 'after')
    c.stabilize()
    expect(c.appliedText(2)).toEqual(['e2', 'e3', 'after'])
  })
})
