import { seededRng } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { SimFileSystem } from './sim-file-system.js'

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString()

async function writeFile (fs: SimFileSystem, path: string, data: string, options: { sync?: boolean } = {}): Promise<void> {
  const handle = await fs.open(path, 'w')
  const bytes = Buffer.from(data)
  await handle.write(bytes, 0, bytes.length, 0)
  if (options.sync === true) await handle.datasync()
  await handle.close()
}

async function exists (fs: SimFileSystem, path: string): Promise<boolean> {
  return await fs.stat(path).then(() => true, (error: { code?: string }) => {
    if (error.code === 'ENOENT') return false
    throw error
  })
}

describe('SimFileSystem basics', () => {
  test('positional reads and writes, writev, truncate, stat, readdir, mkdir', async () => {
    const fs = new SimFileSystem()
    expect(await fs.mkdir('/data/t-0')).toBe('/data')
    expect(await fs.mkdir('/data/t-0')).toBeUndefined()
    await (await fs.open('/data/t-0/a.log', 'wx')).close()
    const handle = await fs.open('/data/t-0/a.log', 'r+')
    await handle.writev([Buffer.from('hello '), Buffer.from('world')], 0)
    await handle.write(Buffer.from('XXW'), 2, 1, 6)
    expect((await handle.stat()).size).toBe(11)
    const buffer = Buffer.alloc(20)
    const { bytesRead } = await handle.read(buffer, 0, 20, 0)
    expect(text(buffer.subarray(0, bytesRead))).toBe('hello World')
    await handle.write(Buffer.from('!'), 0, 1, 13)
    expect(await fs.readFile('/data/t-0/a.log')).toEqual(Buffer.from('hello World\0\0!'))
    await handle.truncate(5)
    await handle.truncate(7)
    expect(await fs.readFile('/data/t-0/a.log')).toEqual(Buffer.from('hello\0\0'))
    await handle.close()
    expect(await fs.readdir('/data/t-0')).toEqual(['a.log'])
    expect((await fs.stat('/data')).isDirectory()).toBe(true)
    expect((await fs.stat('/data/t-0/a.log')).isDirectory()).toBe(false)
  })

  test('Node-style errors', async () => {
    const fs = new SimFileSystem()
    await fs.mkdir('/d')
    await writeFile(fs, '/d/f', 'x')
    await expect(fs.open('/d/missing', 'r')).rejects.toMatchObject({ code: 'ENOENT', syscall: 'open', path: '/d/missing' })
    await expect(fs.open('/d/f', 'wx')).rejects.toMatchObject({ code: 'EEXIST' })
    await expect(fs.open('/nope/f', 'w')).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(fs.open('/d/f/g', 'w')).rejects.toMatchObject({ code: 'ENOTDIR' })
    await expect(fs.readdir('/d/f')).rejects.toMatchObject({ code: 'ENOTDIR' })
    await expect(fs.unlink('/d/missing')).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(fs.rename('/d/missing', '/d/x')).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(fs.mkdir('/d/f')).rejects.toMatchObject({ code: 'EEXIST' })
    const error = await fs.readFile('/d/missing').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    const handle = await fs.open('/d/f', 'r')
    await handle.close()
    await expect(handle.stat()).rejects.toMatchObject({ code: 'EBADF' })
    const readOnly = await fs.open('/d/f', 'r')
    await expect(readOnly.write(Buffer.from('y'), 0, 1, 0)).rejects.toMatchObject({ code: 'EBADF' })
    await fs.rm('/d')
    await fs.rm('/d')
    expect(await exists(fs, '/d')).toBe(false)
  })

  test('a+ appends at the end whatever the position; w truncates', async () => {
    const fs = new SimFileSystem()
    await writeFile(fs, '/f', 'abc')
    const handle = await fs.open('/f', 'a+')
    await handle.write(Buffer.from('d'), 0, 1, 0)
    await handle.close()
    expect(text(await fs.readFile('/f'))).toBe('abcd')
    await writeFile(fs, '/f', 'z')
    expect(text(await fs.readFile('/f'))).toBe('z')
  })

  test('an unlinked file stays usable through an open handle', async () => {
    const fs = new SimFileSystem()
    await writeFile(fs, '/f', 'abc')
    const handle = await fs.open('/f', 'r')
    await fs.unlink('/f')
    const buffer = Buffer.alloc(3)
    await handle.read(buffer, 0, 3, 0)
    expect(text(buffer)).toBe('abc')
    expect(await exists(fs, '/f')).toBe(false)
  })
})

describe('SimFileSystem durability', () => {
  test('a crash keeps synced bytes and loses the unsynced tail; handles become EBADF', async () => {
    const fs = new SimFileSystem()
    await fs.syncDirectory('/')
    const handle = await fs.open('/f', 'w')
    await fs.syncDirectory('/')
    await handle.write(Buffer.from('durable'), 0, 7, 0)
    await handle.datasync()
    await handle.write(Buffer.from('-lost'), 0, 5, 7)
    expect(text(await fs.readFile('/f'))).toBe('durable-lost')
    fs.crash()
    expect(text(await fs.readFile('/f'))).toBe('durable')
    await expect(handle.read(Buffer.alloc(1), 0, 1, 0)).rejects.toMatchObject({ code: 'EBADF' })
    await expect(handle.close()).rejects.toMatchObject({ code: 'EBADF' })
  })

  test('an unsynced truncation is undone by a crash', async () => {
    const fs = new SimFileSystem()
    await writeFile(fs, '/f', 'abcdef', { sync: true })
    await fs.syncDirectory('/')
    const handle = await fs.open('/f', 'r+')
    await handle.truncate(2)
    fs.crash()
    expect(text(await fs.readFile('/f'))).toBe('abcdef')
  })

  test('a created and synced file whose directory was never synced vanishes', async () => {
    const fs = new SimFileSystem()
    await fs.mkdir('/d')
    await fs.syncDirectory('/')
    await writeFile(fs, '/d/f', 'data', { sync: true })
    fs.crash()
    expect(await fs.readdir('/d')).toEqual([])
    await writeFile(fs, '/d/f', 'data', { sync: true })
    await fs.syncDirectory('/d')
    fs.crash()
    expect(text(await fs.readFile('/d/f'))).toBe('data')
  })

  test('a directory made by mkdir is lost unless its parent is synced', async () => {
    const fs = new SimFileSystem()
    await fs.mkdir('/a/b')
    await fs.syncDirectory('/a')
    fs.crash()
    expect(await exists(fs, '/a')).toBe(false)
  })

  test('unsynced renames and unlinks are undone by a crash; synced ones stay', async () => {
    const fs = new SimFileSystem()
    await writeFile(fs, '/old', 'one', { sync: true })
    await writeFile(fs, '/gone', 'two', { sync: true })
    await fs.syncDirectory('/')
    await fs.rename('/old', '/new')
    await fs.unlink('/gone')
    fs.crash()
    expect(await fs.readdir('/')).toEqual(['gone', 'old'])
    await fs.rename('/old', '/new')
    await fs.unlink('/gone')
    await fs.syncDirectory('/')
    fs.crash()
    expect(await fs.readdir('/')).toEqual(['new'])
    expect(text(await fs.readFile('/new'))).toBe('one')
  })

  test('rename over an existing file replaces it (the replace-file protocol)', async () => {
    const fs = new SimFileSystem()
    await writeFile(fs, '/cp', 'v1', { sync: true })
    await fs.syncDirectory('/')
    await writeFile(fs, '/cp.tmp', 'v2', { sync: true })
    await fs.rename('/cp.tmp', '/cp')
    fs.crash()
    expect(text(await fs.readFile('/cp'))).toBe('v1')
    await writeFile(fs, '/cp.tmp', 'v2', { sync: true })
    await fs.rename('/cp.tmp', '/cp')
    await fs.syncDirectory('/')
    fs.crash()
    expect(text(await fs.readFile('/cp'))).toBe('v2')
    expect(await fs.readdir('/')).toEqual(['cp'])
  })

  test('with an rng a crash keeps a random prefix of an unsynced append (torn write), deterministically per seed', async () => {
    const tails = new Set<string>()
    for (let seed = 0; seed < 40; seed++) {
      const run = async (): Promise<string> => {
        const fs = new SimFileSystem()
        await writeFile(fs, '/f', 'synced:', { sync: true })
        await fs.syncDirectory('/')
        const handle = await fs.open('/f', 'r+')
        await handle.write(Buffer.from('0123456789'), 0, 10, 7)
        fs.crash(seededRng(seed))
        return text(await fs.readFile('/f'))
      }
      const first = await run()
      expect(await run()).toBe(first)
      expect('synced:0123456789'.startsWith(first) && first.startsWith('synced:')).toBe(true)
      tails.add(first)
    }
    expect(tails.size).toBeGreaterThan(3)
  })
})

describe('SimFileSystem faults', () => {
  test('failNextSync: the next matching sync fails with EIO and makes nothing durable; later syncs work', async () => {
    const fs = new SimFileSystem()
    await fs.mkdir('/d')
    await fs.syncDirectory('/')
    const handle = await fs.open('/d/f', 'w')
    await fs.syncDirectory('/d')
    await handle.write(Buffer.from('abc'), 0, 3, 0)
    fs.failNextSync('/other')
    fs.failNextSync('/d/')
    await expect(handle.datasync()).rejects.toMatchObject({ code: 'EIO' })
    fs.crash()
    expect((await fs.readFile('/d/f')).length).toBe(0)
    const again = await fs.open('/d/f', 'r+')
    await again.write(Buffer.from('xyz'), 0, 3, 0)
    await again.sync()
    fs.crash()
    expect(text(await fs.readFile('/d/f'))).toBe('xyz')
  })

  test('failNextSync on a directory: its entries stay undurable', async () => {
    const fs = new SimFileSystem()
    await writeFile(fs, '/f', 'a', { sync: true })
    fs.failNextSync('/')
    await expect(fs.syncDirectory('/')).rejects.toMatchObject({ code: 'EIO' })
    fs.crash()
    expect(await fs.readdir('/')).toEqual([])
  })

  test('setFull: growing writes fail with ENOSPC, overwrites and shrinks still work', async () => {
    const fs = new SimFileSystem()
    await writeFile(fs, '/f', 'abc')
    fs.setFull(true)
    const handle = await fs.open('/f', 'r+')
    await expect(handle.write(Buffer.from('d'), 0, 1, 3)).rejects.toMatchObject({ code: 'ENOSPC' })
    await expect(handle.writev([Buffer.from('de')], 2)).rejects.toMatchObject({ code: 'ENOSPC' })
    await expect(handle.truncate(10)).rejects.toMatchObject({ code: 'ENOSPC' })
    await handle.write(Buffer.from('X'), 0, 1, 0)
    await handle.truncate(2)
    expect(text(await fs.readFile('/f'))).toBe('Xb')
    fs.setFull(false)
    await handle.write(Buffer.from('cd'), 0, 2, 2)
    expect(text(await fs.readFile('/f'))).toBe('Xbcd')
    expect(fs.usedBytes()).toBe(4)
  })

  test('capacityBytes bounds the total of all files', async () => {
    const fs = new SimFileSystem({ capacityBytes: 10 })
    await writeFile(fs, '/a', '123456')
    await expect(writeFile(fs, '/b', '12345')).rejects.toMatchObject({ code: 'ENOSPC' })
    await writeFile(fs, '/c', '1234')
    expect(fs.usedBytes()).toBe(10)
  })

  test('failReads: reads of matching paths fail with EIO until cleared; writes are unaffected', async () => {
    const fs = new SimFileSystem()
    await fs.mkdir('/d')
    await writeFile(fs, '/d/f', 'abc')
    fs.failReads('/d/', true)
    const handle = await fs.open('/d/f', 'r+')
    await expect(handle.read(Buffer.alloc(3), 0, 3, 0)).rejects.toMatchObject({ code: 'EIO' })
    await expect(fs.readFile('/d/f')).rejects.toMatchObject({ code: 'EIO' })
    await handle.write(Buffer.from('z'), 0, 1, 0)
    fs.failReads('/d/', false)
    expect(text(await fs.readFile('/d/f'))).toBe('zbc')
  })

  test('flipByte changes the byte in the current and the durable bytes', async () => {
    const fs = new SimFileSystem()
    await writeFile(fs, '/f', 'abc', { sync: true })
    await fs.syncDirectory('/')
    fs.flipByte('/f', 1)
    const flipped = String.fromCharCode('b'.charCodeAt(0) ^ 0xff)
    expect((await fs.readFile('/f'))[1]).toBe(flipped.charCodeAt(0))
    fs.crash()
    expect((await fs.readFile('/f'))[1]).toBe(flipped.charCodeAt(0))
    expect(() => { fs.flipByte('/f', 3) }).toThrow(RangeError)
  })

  test('ioHook is awaited before every operation', async () => {
    let calls = 0
    const fs = new SimFileSystem({ ioHook: async () => { calls += 1 } })
    const handle = await fs.open('/f', 'w')
    await handle.write(Buffer.from('a'), 0, 1, 0)
    await handle.datasync()
    await handle.close()
    await fs.syncDirectory('/')
    expect(calls).toBe(5)
  })
})
