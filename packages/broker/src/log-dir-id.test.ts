import { describe, expect, test } from 'vitest'
import { ErrorCode, nodeId } from '@gregor/common'
import { SimFileSystem, mkdirDurable } from '@gregor/storage'
import { LOG_DIR_META_FILE, loadLogDirId } from './log-dir-id.js'

describe('loadLogDirId (KIP-858 directory id)', () => {
  test('a fresh directory gets a new id, durably; later starts read the same one; a wiped disk gets another', async () => {
    let ids = 0
    const newId = (): string => `dir-${++ids}`
    const fs = new SimFileSystem()
    await mkdirDurable(fs, '/data')
    expect(await loadLogDirId(fs, '/data', nodeId(1), newId)).toBe('dir-1')
    fs.crash() // power loss right after: the id must survive it
    expect(await loadLogDirId(fs, '/data', nodeId(1), newId)).toBe('dir-1')
    expect((await fs.readFile(`/data/${LOG_DIR_META_FILE}`)).toString()).toContain('directory.id=dir-1')
    const wiped = new SimFileSystem()
    await mkdirDurable(wiped, '/data')
    expect(await loadLogDirId(wiped, '/data', nodeId(1), newId)).toBe('dir-2')
  })

  test("another broker's directory is refused", async () => {
    const fs = new SimFileSystem()
    await mkdirDurable(fs, '/data')
    await loadLogDirId(fs, '/data', nodeId(1), () => 'dir-1')
    await expect(loadLogDirId(fs, '/data', nodeId(2), () => 'dir-2')).rejects.toMatchObject({ code: ErrorCode.INVALID_CONFIG })
  })
})
