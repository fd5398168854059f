/**
 * RaftStore against real `level` in a temp directory: what a Ready persists is exactly what a reopen recovers;
 * suffix overwrites, snapshot install and compaction leave no stale entries; damage and foreign data are reported.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { afterEach, describe, expect, test } from 'vitest'
import { isGregorError, silentLogger, type NodeId, type RaftIndex, type Term } from '@gregor/common'
import type { Entry, HardState, Ready, Snapshot } from '@gregor/raft'
import { RaftStore } from './raft-store.js'

const voters = [1, 2, 3] as NodeId[]
const dirs: string[] = []
afterEach(async () => { for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true }) })

async function tempDir (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gregor-raft-store-'))
  dirs.push(dir)
  return dir
}

const open = async (dir: string, nodeId = 1, clusterId = 'c1'): Promise<RaftStore> =>
  await RaftStore.open({ dir, clusterId, nodeId: nodeId as NodeId, voters, logger: silentLogger })

const entry = (index: number, term: number, data = `e${index}`): Entry => ({ index: index as RaftIndex, term: term as Term, data: Buffer.from(data) })
const hard = (term: number, vote: number, commitIndex: number): HardState => ({ term: term as Term, vote: vote as NodeId, commitIndex: commitIndex as RaftIndex })
const ready = (parts: { entries?: Entry[]; hardState?: HardState; snapshot?: Snapshot }): Ready => ({
  entries: parts.entries ?? [], committedEntries: [], messages: [], readStates: [], mustSync: true,
  ...(parts.hardState === undefined ? {} : { hardState: parts.hardState }),
  ...(parts.snapshot === undefined ? {} : { snapshot: parts.snapshot }),
})

function logOf (store: RaftStore): Array<[number, number, string]> {
  const s = store.storage
  if (s.lastIndex() < s.firstIndex()) return []
  return s.entries(s.firstIndex(), s.lastIndex() + 1 as RaftIndex, Number.MAX_SAFE_INTEGER)
    .map((e) => [e.index, e.term, Buffer.from(e.data).toString()])
}

async function errorCode (promise: Promise<unknown>): Promise<string | undefined> {
  try { await promise } catch (error) { return isGregorError(error) ? error.code : String(error) }
  return undefined
}

describe('RaftStore', () => {
  test('a reopen recovers exactly the persisted hard state and entries', async () => {
    const dir = await tempDir()
    const store = await open(dir)
    await store.persist(ready({ entries: [entry(1, 1), entry(2, 1), entry(3, 2)], hardState: hard(2, 1, 2) }))
    await store.close()
    const reopened = await open(dir)
    expect(logOf(reopened)).toEqual([[1, 1, 'e1'], [2, 1, 'e2'], [3, 2, 'e3']])
    expect(reopened.storage.hardState()).toEqual(hard(2, 1, 2))
    await reopened.close()
  })

  test('a conflicting suffix is replaced, and stale entries beyond it are gone after reopen', async () => {
    const dir = await tempDir()
    const store = await open(dir)
    await store.persist(ready({ entries: [entry(1, 1), entry(2, 1), entry(3, 1), entry(4, 1)], hardState: hard(1, 0, 1) }))
    await store.persist(ready({ entries: [entry(2, 2, 'new2')], hardState: hard(2, 0, 1) }))
    expect(logOf(store)).toEqual([[1, 1, 'e1'], [2, 2, 'new2']])
    await store.close()
    const reopened = await open(dir)
    expect(logOf(reopened)).toEqual([[1, 1, 'e1'], [2, 2, 'new2']])
    await reopened.close()
  })

  test('saveSnapshot compacts; snapshot install replaces the log; both survive reopen', async () => {
    const dir = await tempDir()
    const store = await open(dir)
    await store.persist(ready({ entries: [1, 2, 3, 4, 5].map((i) => entry(i, 1)), hardState: hard(1, 0, 5) }))
    await store.saveSnapshot(3 as RaftIndex, Buffer.from('image@3'))
    expect(store.storage.firstIndex()).toBe(4)
    await store.close()
    let reopened = await open(dir)
    expect(logOf(reopened)).toEqual([[4, 1, 'e4'], [5, 1, 'e5']])
    expect(Buffer.from(reopened.storage.snapshot().data).toString()).toBe('image@3')
    const installed: Snapshot = { metadata: { index: 10 as RaftIndex, term: 3 as Term, voters }, data: Buffer.from('image@10') }
    await reopened.persist(ready({ snapshot: installed, hardState: hard(3, 0, 10) }))
    await reopened.persist(ready({ entries: [entry(11, 3)], hardState: hard(3, 0, 10) }))
    await reopened.close()
    reopened = await open(dir)
    expect(reopened.storage.firstIndex()).toBe(11)
    expect(logOf(reopened)).toEqual([[11, 3, 'e11']])
    expect(reopened.storage.snapshot().metadata.index).toBe(10)
    await reopened.close()
  })

  test('refuses a data directory of another cluster or node', async () => {
    const dir = await tempDir()
    await (await open(dir, 1, 'c1')).close()
    expect(await errorCode(open(dir, 2, 'c1'))).toBe('INCONSISTENT_CLUSTER_ID')
    expect(await errorCode(open(dir, 1, 'c2'))).toBe('INCONSISTENT_CLUSTER_ID')
  })

  test('a damaged value or a gap in the log is reported, not applied', async () => {
    const dir = await tempDir()
    const store = await open(dir)
    await store.persist(ready({ entries: [entry(1, 1), entry(2, 1), entry(3, 1)], hardState: hard(1, 0, 1) }))
    await store.close()
    const db = new Level<string, Buffer>(dir, { keyEncoding: 'utf8', valueEncoding: 'buffer' })
    const value = await db.get('e0000000000000002')
    value![6] = (value![6] ?? 0) ^ 0xff
    await db.put('e0000000000000002', value!)
    await db.close()
    expect(await errorCode(open(dir))).toBe('KAFKA_STORAGE_ERROR')

    const gapDir = await tempDir()
    const gapStore = await open(gapDir)
    await gapStore.persist(ready({ entries: [entry(1, 1), entry(2, 1), entry(3, 1)], hardState: hard(1, 0, 1) }))
    await gapStore.close()
    const gapDb = new Level<string, Buffer>(gapDir, { keyEncoding: 'utf8', valueEncoding: 'buffer' })
    await gapDb.del('e0000000000000002')
    await gapDb.close()
    expect(await errorCode(open(gapDir))).toBe('KAFKA_STORAGE_ERROR')
  })
})
