import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { makeTempDir } from '../testing/temp-dir.js'
import { nodeFileSystem } from '../fs/node-file-system.js'
import { OffsetCheckpoints, RECOVERY_POINT_CHECKPOINT_FILE, topicPartitionKey } from './offset-checkpoints.js'

let temp: { path: string; remove: () => Promise<void> }
beforeEach(async () => { temp = await makeTempDir() })
afterEach(async () => { await temp.remove() })

describe('OffsetCheckpoints', () => {
  test('round-trips a topic-partition → offset map in Kafka\'s format', async () => {
    const checkpoints = new OffsetCheckpoints({ logDir: temp.path, fileName: RECOVERY_POINT_CHECKPOINT_FILE, fs: nodeFileSystem })
    expect(await checkpoints.read()).toEqual(new Map())
    await checkpoints.write([{ topic: 'orders', partition: 0, offset: 42 }, { topic: 'my-topic', partition: 11, offset: 7 }])
    expect(await readFile(join(temp.path, 'recovery-point-offset-checkpoint'), 'utf8')).toBe('0\n2\norders 0 42\nmy-topic 11 7\n')
    expect(await checkpoints.read()).toEqual(new Map([[topicPartitionKey('orders', 0), 42], ['my-topic-11', 7]]))
  })

  test('rejects entries that would not parse back', async () => {
    const checkpoints = new OffsetCheckpoints({ logDir: temp.path, fileName: 'x', fs: nodeFileSystem })
    await expect(checkpoints.write([{ topic: 'a b', partition: 0, offset: 1 }])).rejects.toThrow(RangeError)
    await expect(checkpoints.write([{ topic: 'a', partition: 0, offset: -1 }])).rejects.toThrow(RangeError)
  })
})
