/**
 * A real writer process killed with SIGKILL in the middle of appends: after reopening, every append it had reported
 * durable is in the valid prefix of the log, byte for byte, at the offsets it was given.
 *
 * The writer runs from compiled JavaScript (`npm test` runs `tsc -b` first). No sleeps: the test kills the child once
 * it has seen a given number of acknowledgements.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { access } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { offset, silentLogger } from '@gregor/common'
import { stampBatch, validateBatch } from '@gregor/records'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { PartitionLog } from './partition-log.js'
import {
  CHILD_BATCH_BYTES_MAX, CHILD_LEADER_EPOCH, CHILD_SEGMENT_BYTES, CHILD_TOPIC, childBatch,
} from './testing/child-batch.js'
import { makeTempDir } from '../testing/temp-dir.js'
import { nodeFileSystem } from '../fs/node-file-system.js'

const childScript = fileURLToPath(new URL('../../dist/log/testing/append-child.js', import.meta.url))
let temp: { path: string; remove: () => Promise<void> }

beforeEach(async () => { temp = await makeTempDir('gregor-kill-') })
afterEach(async () => { await temp.remove() })

interface Ack { readonly i: number; readonly baseOffset: number; readonly lastOffset: number }

/** Runs the writer until it has acknowledged `acksBeforeKill` appends, then SIGKILLs it; returns what it acked. */
async function runAndKill (dir: string, inFlight: number, acksBeforeKill: number): Promise<Ack[]> {
  const child = spawn(process.execPath, [childScript, dir, String(inFlight), '10000000'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => { resolve({ code, signal }) })
  })
  const acks: Ack[] = []
  for await (const line of createInterface({ input: child.stdout as NonNullable<ChildProcess['stdout']> })) {
    const [kind, i, baseOffset, lastOffset] = line.split(' ')
    if (kind !== 'ack') continue
    acks.push({ i: Number(i), baseOffset: Number(baseOffset), lastOffset: Number(lastOffset) })
    if (acks.length === acksBeforeKill) child.kill('SIGKILL')
  }
  const { signal } = await exited
  expect({ signal, stderr }).toEqual({ signal: 'SIGKILL', stderr: '' })
  return acks
}

test('a writer killed with kill -9 mid-stream leaves every append it reported durable in the valid prefix', async () => {
  await access(childScript).catch(() => {
    throw new Error(`${childScript} is missing: run \`npx tsc -b packages/storage\` (npm test does) before this test`)
  })
  for (const [run, acksBeforeKill] of [[0, 40], [1, 700], [2, 2500]] as const) {
    const dir = `${temp.path}/run-${run}`
    const acks = await runAndKill(dir, 4, acksBeforeKill)
    expect(acks.length).toBeGreaterThanOrEqual(acksBeforeKill)

    const log = await PartitionLog.open({
      fs: nodeFileSystem,
      dir, topic: CHILD_TOPIC, partition: 0, config: { segmentBytes: CHILD_SEGMENT_BYTES, batchBytesMax: CHILD_BATCH_BYTES_MAX }, logger: silentLogger,
    })
    expect(log.needsRefetch).toBe(false)
    if (acksBeforeKill > 1000) expect(log.segmentBaseOffsets.length).toBeGreaterThan(1)
    const durableEnd = Math.max(...acks.map((a) => a.lastOffset + 1))
    expect(log.logEndOffset).toBeGreaterThanOrEqual(durableEnd)
    for (const ack of acks) {
      const expected = childBatch(ack.i)
      stampBatch(expected, 0, { baseOffset: ack.baseOffset, partitionLeaderEpoch: CHILD_LEADER_EPOCH })
      const read = await log.read({ offset: offset(ack.baseOffset), bytesMax: 1 })
      expect({ i: ack.i, same: read.bytes.equals(expected) }).toEqual({ i: ack.i, same: true })
    }
    // The whole recovered log is a valid, dense prefix.
    let next = 0
    while (next < log.logEndOffset) {
      const read = await log.read({ offset: offset(next), bytesMax: 1 << 20 })
      let position = 0
      while (position < read.bytes.length) {
        expect(read.bytes.readBigInt64BE(position)).toBe(BigInt(next))
        const size = validateBatch(read.bytes, position, { batchBytesMax: CHILD_BATCH_BYTES_MAX })
        next += read.bytes.readInt32BE(position + 23) + 1
        position += size
      }
    }
    expect(log.leaderEpochs).toEqual([{ epoch: CHILD_LEADER_EPOCH, startOffset: 0 }])
    await log.close()
  }
})
