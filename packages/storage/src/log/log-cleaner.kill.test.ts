/**
 * A real process killed with SIGKILL while it cleans a compacted log: after reopening, nothing written is lost that
 * compaction may not drop. Every record read back is one the process wrote, at the offset it was written at, and the
 * last record of every key (below the last acknowledged log end) is there.
 *
 * The child runs from compiled JavaScript (`npm test` runs `tsc -b` first). No sleeps: the test kills the child once
 * it has announced a cleaning pass; the pass is throttled, so the kill lands inside it (at some step of it).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { access } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { silentLogger } from '@gregor/common'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { makeTempDir } from '../testing/temp-dir.js'
import { nodeFileSystem } from '../fs/node-file-system.js'
import { realClock, realTimers } from '../testing/real-timers.js'
import { PartitionLog } from './partition-log.js'
import { CLEAN_CHILD_CONFIG, CLEAN_CHILD_KEYS } from './testing/clean-child.js'
import { readAllRecords } from './testing/keyed-log.js'

const childScript = fileURLToPath(new URL('../../dist/log/testing/clean-child.js', import.meta.url))
let temp: { path: string; remove: () => Promise<void> }

beforeEach(async () => { temp = await makeTempDir('gregor-clean-kill-') })
afterEach(async () => { await temp.remove() })

/** Runs the child until its `cleanStarts`-th cleaning pass starts, kills it, returns the last acknowledged log end. */
async function runAndKill (dir: string, cleanStarts: number): Promise<number> {
  const child = spawn(process.execPath, [childScript, dir], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = new Promise<NodeJS.Signals | null>((resolve) => { child.on('exit', (_code, signal) => { resolve(signal) }) })
  let written = 0
  let starts = 0
  for await (const line of createInterface({ input: child.stdout as NonNullable<ChildProcess['stdout']> })) {
    const [kind, value] = line.split(' ')
    if (kind === 'written') written = Number(value)
    if (kind === 'clean-start' && ++starts === cleanStarts) child.kill('SIGKILL')
  }
  expect({ signal: await exited, stderr }).toEqual({ signal: 'SIGKILL', stderr: '' })
  return written
}

test('a cleaner killed with kill -9 mid-pass loses nothing after reopen', async () => {
  await access(childScript).catch(() => {
    throw new Error(`${childScript} is missing: run \`npx tsc -b packages/storage\` (npm test does) before this test`)
  })
  for (const cleanStarts of [1, 2, 3]) {
    const dir = `${temp.path}/run-${cleanStarts}`
    const writtenEnd = await runAndKill(dir, cleanStarts)
    const log = await PartitionLog.open({ fs: nodeFileSystem, dir, topic: 'kv', partition: 0, config: CLEAN_CHILD_CONFIG, logger: silentLogger, clock: realClock, timers: realTimers })
    const records = await readAllRecords(log)
    for (const [i, r] of records.entries()) {
      // Written by the child at this very offset, in order.
      expect(r).toEqual({ offset: r.offset, key: `k${r.offset % CLEAN_CHILD_KEYS}`, value: `k${r.offset % CLEAN_CHILD_KEYS}@${r.offset}` })
      if (i > 0) expect(r.offset).toBeGreaterThan((records[i - 1] as { offset: number }).offset)
    }
    // The last write of every key below the acknowledged end survived.
    const present = new Set(records.map((r) => r.offset))
    for (let k = 0; k < CLEAN_CHILD_KEYS; k++) {
      const last = writtenEnd - 1 - ((writtenEnd - 1 - k) % CLEAN_CHILD_KEYS + CLEAN_CHILD_KEYS) % CLEAN_CHILD_KEYS
      expect({ k, last, present: present.has(last) }).toEqual({ k, last, present: true })
    }
    // The log still cleans to the same keys.
    await log.clean(10_000)
    expect(new Set((await readAllRecords(log)).filter((r) => r.offset < writtenEnd).map((r) => r.key)).size).toBe(CLEAN_CHILD_KEYS)
    await log.close()
  }
}, 60_000)
