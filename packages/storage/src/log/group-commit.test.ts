import { ErrorCode } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { GroupCommit, type Syncable } from './group-commit.js'

/** A file whose fdatasync calls complete only when the test says so. */
class ManualFile implements Syncable {
  pending: Array<{ resolve: () => void; reject: (e: Error) => void }> = []
  calls = 0
  async sync (): Promise<void> {
    this.calls += 1
    await new Promise<void>((resolve, reject) => { this.pending.push({ resolve, reject }) })
  }

  finish (): void {
    for (const p of this.pending.splice(0)) p.resolve()
  }
}

const settle = async (): Promise<void> => { for (let i = 0; i < 10; i++) await Promise.resolve() }

function make (): { commit: GroupCommit; synced: number[]; failures: Error[] } {
  const synced: number[] = []
  const failures: Error[] = []
  const commit = new GroupCommit({ syncedEnd: 0, onSynced: (end) => { synced.push(end) }, onFailure: (e) => { failures.push(e) } })
  return { commit, synced, failures }
}

describe('GroupCommit', () => {
  test('appends written while a sync is in flight share the next round', async () => {
    const { commit, synced } = make()
    const file = new ManualFile()
    const done: number[] = []
    commit.markWritten(10, file)
    void commit.waitDurable(10).then(() => { done.push(10) })
    await settle()
    expect(file.calls).toBe(1)
    for (const end of [20, 30, 40]) {
      commit.markWritten(end, file)
      void commit.waitDurable(end).then(() => { done.push(end) })
    }
    await settle()
    expect(file.calls).toBe(1)
    file.finish()
    await settle()
    expect(done).toEqual([10])
    expect(file.calls).toBe(2)
    file.finish()
    await settle()
    expect(done).toEqual([10, 20, 30, 40])
    expect(synced).toEqual([10, 40])
    expect(commit.rounds).toBe(2)
  })

  test('a failed fdatasync rejects every waiter, present and future, and reports once', async () => {
    const { commit, failures } = make()
    const file = new ManualFile()
    commit.markWritten(5, file)
    const waiting = commit.waitDurable(5)
    await settle()
    file.pending[0]?.reject(Object.assign(new Error('EIO'), { code: 'EIO' }))
    await expect(waiting).rejects.toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR })
    await expect(commit.waitDurable(6)).rejects.toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR })
    expect(failures).toHaveLength(1)
  })

  test('truncation rejects appends above the new end; a round that started before it does not count', async () => {
    const { commit } = make()
    const file = new ManualFile()
    commit.markWritten(50, file)
    const flushed = commit.syncAll()
    const append = commit.waitDurable(50)
    await settle()
    commit.truncateTo(20)
    await expect(append).rejects.toMatchObject({ code: ErrorCode.NOT_LEADER_OR_FOLLOWER })
    await flushed
    file.finish()
    await settle()
    expect(commit.syncedEnd).toBe(0)
    commit.markWritten(30, file)
    const again = commit.waitDurable(30)
    await settle()
    file.finish()
    await again
    expect(commit.syncedEnd).toBe(30)
  })

  test('syncAll with nothing written resolves at once', async () => {
    const { commit } = make()
    await commit.syncAll()
    expect(commit.rounds).toBe(0)
  })

  test('whenDurable calls back at once when already durable, after the covering round otherwise', async () => {
    const { commit } = make()
    const file = new ManualFile()
    const calls: string[] = []
    commit.markWritten(10, file)
    commit.whenDurable(10, () => { calls.push('after sync') }, () => { calls.push('rejected') })
    expect(calls).toEqual([])
    await settle()
    file.finish()
    await settle()
    commit.whenDurable(5, () => { calls.push('at once') }, () => { calls.push('rejected') })
    expect(calls).toEqual(['after sync', 'at once'])
  })
})
