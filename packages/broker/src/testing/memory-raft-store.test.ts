import { nodeId, raftIndex, seededRng, term } from '@gregor/common'
import type { Entry, HardState, Ready } from '@gregor/raft'
import { describe, expect, test } from 'vitest'
import { MemoryRaftStore } from './memory-raft-store.js'

const voters = [nodeId(1), nodeId(2), nodeId(3)]

function entry (index: number, termNumber = 1): Entry {
  return { index: raftIndex(index), term: term(termNumber), data: Buffer.from(`e${index}`) }
}

function ready (fields: { entries?: Entry[]; hardState?: HardState; mustSync: boolean }): Ready {
  return { entries: fields.entries ?? [], committedEntries: [], messages: [], readStates: [], mustSync: fields.mustSync, ...(fields.hardState === undefined ? {} : { hardState: fields.hardState }) }
}

function hard (commitIndex: number): HardState {
  return { term: term(1), vote: nodeId(1), commitIndex: raftIndex(commitIndex) }
}

describe('MemoryRaftStore', () => {
  test('a process crash keeps everything persisted; a power loss keeps only what was synced', async () => {
    const store = new MemoryRaftStore(voters)
    await store.persist(ready({ entries: [entry(1), entry(2)], hardState: hard(0), mustSync: true }))
    // Only the commit index moved: raft does not sync that.
    await store.persist(ready({ hardState: hard(2), mustSync: false }))
    expect(store.storage.hardState().commitIndex).toBe(2)
    expect(store.unsyncedWrites()).toBe(1)

    const before = store.storage
    store.crash()
    expect(store.storage).not.toBe(before) // a new incarnation gets its own mirror
    expect(store.storage.lastIndex()).toBe(2)
    expect(store.storage.hardState().commitIndex).toBe(2)

    store.powerLoss()
    expect(store.storage.lastIndex()).toBe(2)
    expect(store.storage.hardState().commitIndex).toBe(0)
    expect(store.unsyncedWrites()).toBe(0)
  })

  test('a power loss with an rng keeps a prefix of the unsynced writes, in order', async () => {
    const kept = new Set<number>()
    for (let seed = 1; seed <= 30; seed++) {
      const store = new MemoryRaftStore(voters)
      await store.persist(ready({ entries: [entry(1)], hardState: hard(0), mustSync: true }))
      for (let commit = 1; commit <= 3; commit++) {
        await store.persist(ready({ entries: [entry(commit + 1)], hardState: hard(commit), mustSync: false }))
      }
      store.powerLoss(seededRng(seed))
      const lastIndex = store.storage.lastIndex()
      // Writes are atomic and ordered: the surviving commit index always matches the surviving log.
      expect(store.storage.hardState().commitIndex).toBe(lastIndex - 1)
      kept.add(lastIndex)
    }
    expect([...kept].sort()).toEqual([1, 2, 3, 4])
  })

  test('a saved snapshot is synced with everything before it and compacts the log', async () => {
    const store = new MemoryRaftStore(voters)
    await store.persist(ready({ entries: [entry(1), entry(2), entry(3)], hardState: hard(0), mustSync: true }))
    await store.persist(ready({ hardState: hard(3), mustSync: false }))
    const snapshot = await store.saveSnapshot(raftIndex(2), Buffer.from('image'))
    expect(snapshot.metadata).toMatchObject({ index: 2, term: 1 })
    expect(store.storage.firstIndex()).toBe(3)

    store.powerLoss()
    expect(store.storage.snapshot().metadata.index).toBe(2)
    expect(Buffer.from(store.storage.snapshot().data).toString()).toBe('image')
    expect(store.storage.firstIndex()).toBe(3)
    expect(store.storage.lastIndex()).toBe(3)
    expect(store.storage.hardState().commitIndex).toBe(3) // synced by the snapshot's write
  })
})
