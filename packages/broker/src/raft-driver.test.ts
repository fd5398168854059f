/**
 * The raft driver around a real single-voter RawNode, on hand-driven timers and an in-memory store: an entry above
 * `entryDataBytesMax` is refused by `propose` at once (followers' decoders would refuse it, so it could never commit
 * in a real cluster), while one of exactly the limit commits.
 */
import { describe, expect, test } from 'vitest'
import { type NodeId, type RaftIndex, seededRng, silentLogger } from '@gregor/common'
import { defaultRaftConfig, entryDataBytesMax, type Entry, MemoryStorage, RawNode } from '@gregor/raft'
import { defaultRaftDriverConfig, RaftDriver, type RaftLogStore } from './raft-driver.js'
import { ManualTimers } from './replica/testing/manual-timers.js'

const self = 1 as NodeId

function singleVoter (): { driver: RaftDriver; node: RawNode; timers: ManualTimers; applied: Entry[] } {
  const storage = new MemoryStorage({ voters: [self] })
  const store: RaftLogStore = {
    storage,
    persist: async (ready) => {
      if (ready.snapshot !== undefined) storage.applySnapshot(ready.snapshot)
      storage.append(ready.entries)
      if (ready.hardState !== undefined) storage.setHardState(ready.hardState)
    },
    saveSnapshot: async (index: RaftIndex, data: Uint8Array) => storage.createSnapshot(index, data),
  }
  const node = new RawNode({ ...defaultRaftConfig, id: self, voters: [self], appliedIndex: 0 as RaftIndex }, { storage, rng: seededRng(1), logger: silentLogger })
  const timers = new ManualTimers()
  const applied: Entry[] = []
  const driver = new RaftDriver(defaultRaftDriverConfig, {
    node, store, timers, clock: timers, transport: { send: () => {} }, logger: silentLogger,
    stateMachine: { apply: (entry) => { applied.push(entry) }, snapshot: () => new Uint8Array(0), restore: () => {} },
  })
  return { driver, node, timers, applied }
}

/** Ticks virtual time until the single voter leads (it campaigns after a randomized election timeout). */
async function untilLeader (node: RawNode, timers: ManualTimers): Promise<void> {
  for (let ticks = 0; node.status().role !== 'leader'; ticks++) {
    if (ticks > 100) throw new Error('single voter never became leader')
    await timers.advance(defaultRaftDriverConfig.tickIntervalMs)
  }
}

describe('RaftDriver.propose', () => {
  test('refuses an entry above the raft entry limit at once with MESSAGE_TOO_LARGE; one at the limit commits', async () => {
    const { driver, node, timers, applied } = singleVoter()
    driver.start()
    try {
      await untilLeader(node, timers)

      await expect(driver.propose(new Uint8Array(entryDataBytesMax + 1))).rejects.toMatchObject({
        code: 'MESSAGE_TOO_LARGE', retriable: false, details: { bytes: entryDataBytesMax + 1, entryDataBytesMax },
      })
      expect(node.status().lastIndex).toBe(node.status().commitIndex) // nothing of it reached the log

      const { index } = await driver.propose(new Uint8Array(entryDataBytesMax))
      expect(applied.at(-1)).toMatchObject({ index })
      expect(applied.at(-1)?.data.byteLength).toBe(entryDataBytesMax)
    } finally {
      await driver.stop()
    }
  })
})
