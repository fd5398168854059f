/**
 * The producer's in-process record path, without a network: RecordRouter → RecordAccumulator → drain (header and
 * CRC) → complete, in chunks of 1,000 100-byte keyless records like the closed loop of `gregor bench produce`.
 * Prints CPU ns per record. Runs the built code (`npx tsc -b` first); `[tree]` is another checkout's root (e.g. a
 * copy of an older build) to compare, alternating runs.
 *
 *   node packages/client/scripts/append-bench.mjs [records = 2000000] [tree = this checkout]
 */
import { fileURLToPath } from 'node:url'

const records = Number(process.argv[2] ?? 2_000_000)
const tree = process.argv[3] ?? fileURLToPath(new URL('../../..', import.meta.url))
const { RecordAccumulator } = await import(`${tree}/packages/client/dist/record-accumulator.js`)
const { RecordRouter } = await import(`${tree}/packages/client/dist/partition-and-append.js`)
const { createDefaultPartitioner } = await import(`${tree}/packages/client/dist/default-partitioner.js`)
const { seededRng } = await import(`${tree}/packages/common/dist/index.js`)

const scheduler = { setTimer: (ms, fn) => { const timer = setTimeout(fn, ms); return () => { clearTimeout(timer) } } }
const accumulator = new RecordAccumulator({
  lingerMs: 5, batchBytesMax: 256 * 1024, bufferBytesMax: 32 * 1024 * 1024, maxBlockMs: 60_000, compression: 'none',
  deliveryTimeoutMs: 120_000, maxInFlightPerPartition: 5,
}, { clock: { nowMs: () => performance.now() }, wallClock: { nowMs: () => Date.now() }, scheduler })
accumulator.setProducerIdentity({ producerId: 1, producerEpoch: 0 })
const router = new RecordRouter({ accumulator, partitioner: createDefaultPartitioner({ rng: seededRng(1) }) },
  { topic: 't', partitionCount: 3, availablePartitions: [0, 1, 2] })
const chunk = Array.from({ length: 1000 }, () => ({ value: Buffer.alloc(100, 7) }))

/** Appends `count` records, sending (draining and acknowledging) whenever 8 MiB are buffered, then the rest. */
function run (count) {
  let baseOffset = 0
  const sendReady = () => {
    for (const batch of accumulator.drain()) {
      accumulator.complete(batch, { baseOffset })
      baseOffset += batch.recordCount
    }
  }
  for (let sent = 0; sent < count; sent += chunk.length) {
    const nowMs = Date.now()
    for (const message of chunk) router.tryAppend(message, nowMs)
    if (accumulator.bufferedBytes > 8 * 1024 * 1024) sendReady()
  }
  void accumulator.flush() // makes every batch ready
  while (accumulator.batchCount > 0) sendReady()
}

run(300_000) // warm-up: optimized code, a full pool
const start = process.cpuUsage()
run(records)
const used = process.cpuUsage(start)
console.log(`${tree}: ${records} records, ${(((used.user + used.system) * 1000) / records).toFixed(0)} ns of CPU per record`)
process.exit(0)
