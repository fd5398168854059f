import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ErrorCode } from '@gregor/common'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { makeTempDir } from '../testing/temp-dir.js'
import { nodeFileSystem } from '../fs/node-file-system.js'
import { CheckpointFile, type CheckpointFormat } from './checkpoint-file.js'

const pairs: CheckpointFormat<[number, number]> = {
  version: 0,
  format: ([a, b]) => `${a} ${b}`,
  parse: (line) => {
    const match = /^(\d+) (\d+)$/.exec(line)
    return match === null ? undefined : [Number(match[1]), Number(match[2])]
  },
}
let temp: { path: string; remove: () => Promise<void> }
beforeEach(async () => { temp = await makeTempDir() })
afterEach(async () => { await temp.remove() })

describe('CheckpointFile', () => {
  test('writes Kafka\'s format (version, count, entries) and reads it back', async () => {
    const file = new CheckpointFile(nodeFileSystem, join(temp.path, 'cp'), pairs)
    await file.write([[1, 10], [2, 20]])
    expect(await readFile(file.path, 'utf8')).toBe('0\n2\n1 10\n2 20\n')
    expect(await file.read()).toEqual([[1, 10], [2, 20]])
    expect(await readdir(temp.path)).toEqual(['cp'])
  })

  test('a missing file reads as undefined', async () => {
    expect(await new CheckpointFile(nodeFileSystem, join(temp.path, 'none'), pairs).read()).toBeUndefined()
  })

  test.each([
    ['wrong version', '1\n0\n'],
    ['count mismatch', '0\n2\n1 10\n'],
    ['malformed entry', '0\n1\n1 x\n'],
    ['torn (no final newline)', '0\n1\n1 1'],
    ['empty', ''],
  ])('a malformed file (%s) throws KAFKA_STORAGE_ERROR', async (_, text) => {
    const path = join(temp.path, 'bad')
    await writeFile(path, text)
    await expect(new CheckpointFile(nodeFileSystem, path, pairs).read()).rejects.toMatchObject({ code: ErrorCode.KAFKA_STORAGE_ERROR })
  })

  test('a stale temp file from a crash does not matter; concurrent writes are serialized, last one wins', async () => {
    const file = new CheckpointFile(nodeFileSystem, join(temp.path, 'cp'), pairs)
    await writeFile(`${file.path}.tmp`, 'garbage')
    await Promise.all([file.write([[1, 1]]), file.write([[2, 2]]), file.write([[3, 3]])])
    expect(await file.read()).toEqual([[3, 3]])
    expect(await readdir(temp.path)).toEqual(['cp'])
  })
})
