import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { makeTempDir } from '../testing/temp-dir.js'
import { nodeFileSystem } from '../fs/node-file-system.js'
import { FileHandleCache } from './file-handle-cache.js'

let temp: { path: string; remove: () => Promise<void> }
let paths: string[]
beforeEach(async () => {
  temp = await makeTempDir()
  paths = await Promise.all(Array.from({ length: 5 }, async (_, i) => {
    const path = join(temp.path, `f${i}`)
    await writeFile(path, `file ${i}`)
    return path
  }))
})
afterEach(async () => { await temp.remove() })

const readText = async (cache: FileHandleCache, path: string): Promise<string> =>
  await cache.use(path, async (handle) => {
    const buffer = Buffer.alloc(6)
    await handle.read(buffer, 0, 6, 0)
    return buffer.toString()
  })

describe('FileHandleCache', () => {
  test('keeps at most openFilesMax idle handles, evicting the least recently used', async () => {
    const cache = new FileHandleCache({ openFilesMax: 2, fs: nodeFileSystem })
    for (const path of paths) expect(await readText(cache, path)).toMatch(/^file \d$/)
    expect(cache.openCount).toBe(2)
    await cache.closeAll()
    expect(cache.openCount).toBe(0)
  })

  test('reuses an open handle for the same path and opens it once for concurrent leases', async () => {
    const cache = new FileHandleCache({ openFilesMax: 4, fs: nodeFileSystem })
    const [a, b] = await Promise.all([cache.acquire(paths[0] as string), cache.acquire(paths[0] as string)])
    expect(a.handle).toBe(b.handle)
    expect(cache.openCount).toBe(1)
    a.release()
    b.release()
    expect(() => { a.release() }).toThrow(/released twice/)
    await cache.closeAll()
  })

  test('never closes a leased handle: the limit is soft while every handle is in use', async () => {
    const cache = new FileHandleCache({ openFilesMax: 1, fs: nodeFileSystem })
    const leases = await Promise.all(paths.slice(0, 3).map(async (p) => await cache.acquire(p)))
    expect(cache.openCount).toBe(3)
    for (const lease of leases) expect((await lease.handle.stat()).size).toBeGreaterThan(0)
    for (const lease of leases) lease.release()
    expect(cache.openCount).toBe(1)
    await cache.closeAll()
  })

  test('forget closes the handle once its last lease ends, and the next use opens a fresh one', async () => {
    const cache = new FileHandleCache({ openFilesMax: 4, fs: nodeFileSystem })
    const lease = await cache.acquire(paths[0] as string)
    const forgotten = cache.forget(paths[0] as string)
    expect(cache.openCount).toBe(1)
    const fresh = await cache.acquire(paths[0] as string)
    expect(fresh.handle).not.toBe(lease.handle)
    lease.release()
    await forgotten
    fresh.release()
    await cache.closeAll()
    expect(cache.openCount).toBe(0)
  })

  test('an open failure is reported and leaves nothing counted', async () => {
    const cache = new FileHandleCache({ openFilesMax: 2, fs: nodeFileSystem })
    await expect(cache.acquire(join(temp.path, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' })
    expect(cache.openCount).toBe(0)
  })
})
