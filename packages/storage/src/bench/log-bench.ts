/**
 * Partition-log benchmark (`npm run bench:log`): appends of 100-byte records in 64 KiB batches with the default flush
 * ('always': every append waits for the fdatasync that covers it) and with flush='never', reads back from the page
 * cache, and, in the same run on the same disk, raw sequential writes of the same sizes through the same
 * `fs/promises` FileHandle API, with and without an fdatasync after each write. The log's overhead shows as ratios.
 *
 * Prints one JSON object per line: `{ name, mbPerSec, recordsPerSec, ... }` per case, then ratio lines
 * (`append-vs-raw-synced` is the headline: target ≥ 0.7). Each case writes `--mib` MiB (default 256) into a fresh
 * temp directory under the OS temp dir (the same volume as the work tree here), which is removed afterwards. Cases run
 * `--rounds` times (default 3), interleaved raw/log so disk noise hits both alike; the median round is reported.
 * A script, not a test: nothing asserts on timings.
 */
import { mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { leaderEpoch, offset, silentLogger } from '@gregor/common'
import { nodeFileSystem } from '../fs/node-file-system.js'
import { FileHandleCache } from '../log/file-handle-cache.js'
import { PartitionLog } from '../log/partition-log.js'
import { makeRecordsBatch, recordsPerBatch } from '../log/testing/test-batch.js'

const BATCH_BYTES = 64 * 1024
const VALUE_BYTES = 100

interface CaseResult {
  readonly name: string
  readonly bytes: number
  readonly records: number
  readonly seconds: number
  readonly extra?: Record<string, unknown>
}

const { values } = parseArgs({
  options: { mib: { type: 'string', default: '256' }, rounds: { type: 'string', default: '3' }, concurrency: { type: 'string', default: '8' } },
})
const totalBytesTarget = Number(values.mib) * 1024 * 1024
const rounds = Number(values.rounds)
const concurrency = Number(values.concurrency)
const recordCount = recordsPerBatch(BATCH_BYTES, VALUE_BYTES)
const template = makeRecordsBatch({ recordCount, valueBytes: VALUE_BYTES, timestamp: 1_700_000_000_000 })
const batchCount = Math.floor(totalBytesTarget / template.length)

async function inTempDir<T> (fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'gregor-bench-'))
  try {
    return await fn(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function rawWrite (name: string, sync: boolean): Promise<CaseResult> {
  return await inTempDir(async (dir) => {
    const handle = await open(join(dir, 'raw.log'), 'wx+')
    const start = process.hrtime.bigint()
    let position = 0
    for (let i = 0; i < batchCount; i++) {
      await handle.write(template, 0, template.length, position)
      position += template.length
      if (sync) await handle.datasync()
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    await handle.close()
    return { name, bytes: position, records: batchCount * recordCount, seconds }
  })
}

async function logAppend (name: string, flush: 'always' | 'never', inFlight: number): Promise<CaseResult> {
  return await inTempDir(async (dir) => {
    const files = new FileHandleCache({ openFilesMax: 100, fs: nodeFileSystem })
    const log = await PartitionLog.open({ dir, topic: 'bench', partition: 0, config: { flush }, logger: silentLogger, fs: nodeFileSystem, files })
    const buffers = Array.from({ length: inFlight }, () => Buffer.from(template))
    let next = 0
    const start = process.hrtime.bigint()
    await Promise.all(buffers.map(async (buffer) => {
      while (next < batchCount) {
        next += 1
        await log.append(buffer, { leaderEpoch: leaderEpoch(0) })
      }
    }))
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    const result = { name, bytes: log.sizeBytes, records: batchCount * recordCount, seconds, extra: { inFlight, syncRounds: log.syncRounds } }
    await log.close()
    await files.closeAll()
    return result
  })
}

async function logRead (name: string): Promise<CaseResult> {
  return await inTempDir(async (dir) => {
    const files = new FileHandleCache({ openFilesMax: 100, fs: nodeFileSystem })
    const log = await PartitionLog.open({ dir, topic: 'bench', partition: 0, config: { flush: 'never' }, logger: silentLogger, fs: nodeFileSystem, files })
    const buffer = Buffer.from(template)
    for (let i = 0; i < batchCount; i++) await log.append(buffer, { leaderEpoch: leaderEpoch(0) })
    await log.flush()
    // Warm the page cache and the index, then time a full sequential read.
    const readAll = async (): Promise<number> => {
      let bytes = 0
      let position = 0
      while (position < log.logEndOffset) {
        const read = await log.read({ offset: offset(position), bytesMax: 1024 * 1024 })
        bytes += read.bytes.length
        position = read.nextOffset
      }
      return bytes
    }
    await readAll()
    const start = process.hrtime.bigint()
    const bytes = await readAll()
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    await log.close()
    await files.closeAll()
    return { name, bytes, records: batchCount * recordCount, seconds, extra: { bytesMax: 1024 * 1024 } }
  })
}

function median (results: readonly CaseResult[]): CaseResult {
  return [...results].sort((a, b) => b.bytes / b.seconds - a.bytes / a.seconds)[Math.floor(results.length / 2)] as CaseResult
}

function report (result: CaseResult, all: readonly CaseResult[]): { name: string; mbPerSec: number } {
  const mbPerSec = result.bytes / 1e6 / result.seconds
  const line = {
    name: result.name,
    mbPerSec: Math.round(mbPerSec * 10) / 10,
    recordsPerSec: Math.round(result.records / result.seconds),
    batchBytes: template.length,
    recordsPerBatch: recordCount,
    totalMiB: Math.round(result.bytes / 1024 / 1024),
    roundsMbPerSec: all.map((r) => Math.round(r.bytes / 1e6 / r.seconds)),
    ...result.extra,
  }
  console.log(JSON.stringify(line))
  return line
}

async function main (): Promise<void> {
  const cases: Array<[string, () => Promise<CaseResult>]> = [
    ['raw-write-fdatasync', async () => await rawWrite('raw-write-fdatasync', true)],
    ['append-flush-always', async () => await logAppend('append-flush-always', 'always', 1)],
    [`append-flush-always-x${concurrency}`, async () => await logAppend(`append-flush-always-x${concurrency}`, 'always', concurrency)],
    ['raw-write', async () => await rawWrite('raw-write', false)],
    ['append-flush-never', async () => await logAppend('append-flush-never', 'never', 1)],
    ['read-page-cache', async () => await logRead('read-page-cache')],
  ]
  const results = new Map<string, CaseResult[]>(cases.map(([name]) => [name, []]))
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of cases) results.get(name)?.push(await run())
  }
  const rate = new Map<string, number>()
  for (const [name] of cases) {
    const all = results.get(name) as CaseResult[]
    rate.set(name, report(median(all), all).mbPerSec)
  }
  const ratio = (name: string, log: string, raw: string): void => {
    const value = (rate.get(log) as number) / (rate.get(raw) as number)
    console.log(JSON.stringify({ name, ratio: Math.round(value * 1000) / 1000, log, raw, target: name === 'append-vs-raw-synced' ? 0.7 : undefined }))
  }
  ratio('append-vs-raw-synced', 'append-flush-always', 'raw-write-fdatasync')
  ratio(`append-x${concurrency}-vs-raw-synced`, `append-flush-always-x${concurrency}`, 'raw-write-fdatasync')
  ratio('append-never-vs-raw', 'append-flush-never', 'raw-write')
}

await main()
