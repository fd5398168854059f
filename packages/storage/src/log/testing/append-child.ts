/**
 * The writer process of the kill -9 test (partition-log.kill.test.ts), run from its compiled form:
 *   node packages/storage/dist/log/testing/append-child.js <logDir> <inFlight> <appendsMax>
 *
 * Appends `childBatch(i)` for i = 0, 1, ... with the default flush policy ('always'), `inFlight` appends at a time,
 * and prints `ack <i> <baseOffset> <lastOffset>` on stdout once append i is reported durable. Stdout is a pipe and
 * pipe writes are synchronous on Linux, so a line the parent has read was written before the process died. The
 * parent kills the process with SIGKILL mid-stream; the log is never closed cleanly.
 */
import { leaderEpoch, silentLogger } from '@gregor/common'
import { nodeFileSystem } from '../../fs/node-file-system.js'
import { PartitionLog } from '../partition-log.js'
import { CHILD_BATCH_BYTES_MAX, CHILD_LEADER_EPOCH, CHILD_SEGMENT_BYTES, CHILD_TOPIC, childBatch } from './child-batch.js'

const [dir, inFlightArg, appendsMaxArg] = process.argv.slice(2)
if (dir === undefined) throw new Error('usage: append-child.js <logDir> <inFlight> <appendsMax>')
const inFlight = Number(inFlightArg ?? 4)
const appendsMax = Number(appendsMaxArg ?? 1_000_000)
const log = await PartitionLog.open({
  dir,
  topic: CHILD_TOPIC,
  partition: 0,
  config: { segmentBytes: CHILD_SEGMENT_BYTES, batchBytesMax: CHILD_BATCH_BYTES_MAX },
  logger: silentLogger,
  fs: nodeFileSystem,
})
process.stdout.write('ready\n')
let next = 0
await Promise.all(Array.from({ length: inFlight }, async () => {
  while (next < appendsMax) {
    const i = next++
    const result = await log.append(childBatch(i), { leaderEpoch: leaderEpoch(CHILD_LEADER_EPOCH) })
    process.stdout.write(`ack ${i} ${result.baseOffset} ${result.lastOffset}\n`)
  }
}))
process.stdout.write('done\n')
