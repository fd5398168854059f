/**
 * The whole-cluster safety invariants, checked after every simulated event from what the simulation can see: each
 * broker's quorum status and applied metadata, each replica's high watermark and the batches on its simulated disk,
 * and what the clients were told (acknowledged offsets, fetched high watermarks, group assignments, committed
 * offsets).
 *
 * Owns the model of "what must be true": a canonical batch per (partition, base offset) below any high watermark,
 * the acknowledged records, every record id ever sent. A violation throws `ClusterInvariantViolation`, which ends the
 * run with the seed to replay.
 *
 * Invariants:
 *  1. at most one controller (raft leader) per term;
 *  2. committed metadata never changes (same raft index → same entry on every broker, forever);
 *  3. the high watermark a replica reports never goes back within an incarnation, and the one clients are served never
 *     goes back at all;
 *  4. every offset below a high watermark holds the same batch (base offset, last offset, CRC) on every replica
 *     that has it;
 *  5. an acknowledged record is stored at its acknowledged offset (never lost or moved);
 *  6. no record appears that was never produced; 7. an idempotent producer's record is stored once;
 *  8. a partition is owned by at most one member of a group at a time;
 *  9. committed offsets never go back except by an explicit reset;
 * 10. every broker's applied metadata image is sound at each raft entry boundary (`MetadataImage.invariantProblems`):
 *     in particular a led partition's leader and ISR are live brokers, never fenced ones (KIP-841), and the leader is
 *     in the ISR.
 *
 * Invariants 4–7 read the raw segment files, bit rot included, so they skip the batches the broker would refuse to
 * serve and recovery would cut off, and only those: a batch that fails its CRC, and a batch whose header fields outside
 * the CRC cannot be right (storage's batch-scanner.ts, batch-header-check.ts and log-segment.ts `#checkRun`): a
 * baseOffset that does not continue its predecessor (the first batch: the segment's base offset, from its name) or
 * leaves the segment's offset range, a leader epoch below -1. A batch with a rotted baseOffset is not a second copy
 * of its records (issue 10, seeds 1711, 3249, 5400 and 6061: "stored at offsets 140 and -72057594037927790").
 */
import { type BatchHeader, batchSizeBytes, parseBatch, validateBatch, walkBatches } from '@gregor/records'

const INT32_MAX = 2 ** 31 - 1
/** partitionLeaderEpoch of a batch that was never stamped (Kafka's RecordBatch.NO_PARTITION_LEADER_EPOCH). */
const NO_EPOCH = -1

export class ClusterInvariantViolation extends Error {
  readonly invariant: string
  constructor (invariant: string, message: string) {
    super(`${invariant}: ${message}`)
    this.invariant = invariant
  }
}

/** One batch as the checker knows it: enough to tell two batches apart and to find the records in it. */
interface BatchIdentity {
  readonly baseOffset: number
  readonly lastOffset: number
  readonly crc: number
}

/** What the checker reads of one replica (one broker's copy of one partition). */
export interface ReplicaView {
  readonly brokerId: number
  readonly incarnation: number
  readonly partition: string
  readonly highWatermark: number
  /** The replica's segment files in offset order: name and current (not only durable) contents. */
  readonly segments: () => ReadonlyArray<{ readonly name: string; readonly bytes: Uint8Array }>
}

/**
 * The offset the next batch of a segment must start at: `exactly` after a batch whose lastOffsetDelta is trustworthy
 * (it passed its CRC, which covers that field), otherwise only `atLeast` (after a batch that failed its CRC, or at the
 * start of a segment whose name gives no base offset).
 */
interface NextOffset {
  readonly exactly?: number
  readonly atLeast: number
}

/** How far one segment file has been checked. */
interface SegmentProgress {
  /** Bytes already checked (a shorter file was truncated: it is checked again from the start). */
  readonly checkedBytes: number
  /** Where the batch at `checkedBytes` must start. */
  readonly next: NextOffset
}

interface ReplicaProgress {
  incarnation: number
  highWatermark: number
  /** Segment name → how far it has been checked. */
  segments: Map<string, SegmentProgress>
}

export class ClusterInvariants {
  /** term → leader id. */
  readonly #controllers = new Map<number, number>()
  /** raft index → entry fingerprint, as first seen committed. */
  readonly #metadata = new Map<number, string>()
  /** partition → base offset → the canonical batch there. */
  readonly #canonical = new Map<string, Map<number, BatchIdentity>>()
  /** partition → offset → record id, for every record of a canonical batch. */
  readonly #stored = new Map<string, Map<number, string>>()
  /** partition → record id → offset (to find a record stored twice). */
  readonly #storedIds = new Map<string, Map<string, number>>()
  /** partition → offset → acknowledged record id. */
  readonly #acked = new Map<string, Map<number, string>>()
  /** Every record id a producer ever put in a batch. */
  readonly #sent = new Set<string>()
  readonly #replicas = new Map<string, ReplicaProgress>()
  /** partition → highest high watermark served to a client. */
  readonly #servedHighWatermark = new Map<string, number>()
  /** group → partition → owning member. */
  readonly #owners = new Map<string, Map<string, string>>()
  /** group → partition → highest committed offset seen (reset by an explicit reset). */
  readonly #committed = new Map<string, Map<string, number>>()
  checks = 0

  // ---- 1, 2: the metadata quorum ----

  observeRole (brokerId: number, term: number, isLeader: boolean): void {
    if (!isLeader) return
    const leader = this.#controllers.get(term)
    if (leader === undefined) this.#controllers.set(term, brokerId)
    else if (leader !== brokerId) fail('one controller per term', `brokers ${leader} and ${brokerId} both lead term ${term}`)
  }

  observeCommittedMetadata (brokerId: number, index: number, fingerprint: string): void {
    const seen = this.#metadata.get(index)
    if (seen === undefined) this.#metadata.set(index, fingerprint)
    else if (seen !== fingerprint) fail('committed metadata never changes', `broker ${brokerId} has ${fingerprint} at index ${index}, was ${seen}`)
  }

  // ---- 10: the metadata image ----

  /** `problems` are what the image `brokerId` applied up to `appliedIndex` says is broken in itself. */
  checkMetadataImage (brokerId: number, appliedIndex: number, problems: readonly string[]): void {
    this.checks++
    if (problems.length > 0) fail('the metadata image is sound', `broker ${brokerId} at index ${appliedIndex}: ${problems.join('; ')}`)
  }

  // ---- 3–7: partitions ----

  /** A producer is about to send this record id (it may or may not be stored). */
  recordSent (recordId: string): void {
    this.#sent.add(recordId)
  }

  /** The producer was told `recordId` is stored at `offset` of `partition`. */
  recordAcknowledged (partition: string, offset: number, recordId: string): void {
    let acked = this.#acked.get(partition)
    if (acked === undefined) this.#acked.set(partition, acked = new Map())
    const earlier = acked.get(offset)
    if (earlier !== undefined && earlier !== recordId) {
      fail('no acknowledged record is lost or moved', `${partition} offset ${offset} acknowledged for ${earlier} and then for ${recordId}`)
    }
    acked.set(offset, recordId)
    const stored = this.#stored.get(partition)?.get(offset)
    if (stored !== undefined && stored !== recordId) {
      fail('no acknowledged record is lost or moved', `${partition} offset ${offset} acknowledged for ${recordId} but holds ${stored}`)
    }
  }

  /** A client fetch was answered with this high watermark. */
  highWatermarkServed (partition: string, highWatermark: number): void {
    const before = this.#servedHighWatermark.get(partition) ?? 0
    if (highWatermark < before) fail('high watermark never goes back', `${partition} served ${highWatermark} after ${before}`)
    this.#servedHighWatermark.set(partition, highWatermark)
  }

  /**
   * Checks one replica: its high watermark, and every batch below it against the canonical batches. Incremental: a
   * segment is read from where the last check stopped, unless `full` (the simulation asks for a full pass now and
   * then, and at the end, to catch a rewrite that kept a file's length).
   */
  checkReplica (replica: ReplicaView, full = false): void {
    const key = `${replica.partition}@${replica.brokerId}`
    let progress = this.#replicas.get(key)
    if (progress !== undefined && progress.incarnation === replica.incarnation && replica.highWatermark < progress.highWatermark) {
      fail('high watermark never goes back', `${replica.partition} on broker ${replica.brokerId}: ${replica.highWatermark} after ${progress.highWatermark}`)
    }
    if (progress === undefined || progress.incarnation !== replica.incarnation) {
      progress = { incarnation: replica.incarnation, highWatermark: replica.highWatermark, segments: new Map() }
      this.#replicas.set(key, progress)
    } else if (progress.highWatermark === replica.highWatermark && !full) {
      return
    }
    progress.highWatermark = replica.highWatermark
    if (replica.highWatermark === 0) return
    this.checks++
    for (const segment of replica.segments()) {
      const bytes = Buffer.from(segment.bytes.buffer, segment.bytes.byteOffset, segment.bytes.byteLength)
      const segmentBaseOffset = segmentBaseOffsetOf(segment.name)
      const checked = progress.segments.get(segment.name)
      const resume = !full && checked !== undefined && checked.checkedBytes <= bytes.length
      let position = resume ? checked.checkedBytes : 0
      let next: NextOffset = resume ? checked.next : segmentStart(segmentBaseOffset)
      for (const { header, bytes: batch } of batchesOf(bytes.subarray(position))) {
        const placed = placeBatch(header, next, segmentBaseOffset)
        const lastOffset = placed.baseOffset + header.lastOffsetDelta
        if (lastOffset >= replica.highWatermark) break
        // Bit rot on this replica's disk: the broker must never serve such a batch (its reads check the CRC and the
        // header fields outside it, recovery cuts the log there), but it is not a second version of the batch.
        const crcValid = validBatch(batch)
        if (crcValid && placed.refused === undefined) this.#checkBatch(replica, { baseOffset: placed.baseOffset, lastOffset, crc: header.crc }, batch)
        // The batches after a rotted baseOffset are still checked: the CRC vouches for lastOffsetDelta, so they
        // must continue from where the rotted batch really ends.
        next = crcValid ? { exactly: lastOffset + 1, atLeast: lastOffset + 1 } : { atLeast: placed.baseOffset + 1 }
        position += batch.length
      }
      progress.segments.set(segment.name, { checkedBytes: position, next })
    }
  }

  #checkBatch (replica: ReplicaView, batch: BatchIdentity, bytes: Buffer): void {
    let canonical = this.#canonical.get(replica.partition)
    if (canonical === undefined) this.#canonical.set(replica.partition, canonical = new Map())
    const known = canonical.get(batch.baseOffset)
    if (known !== undefined) {
      if (known.lastOffset !== batch.lastOffset || known.crc !== batch.crc) {
        fail('replicas agree below the high watermark', `${replica.partition} broker ${replica.brokerId} holds batch ` +
          `${batch.baseOffset}..${batch.lastOffset} crc ${batch.crc} where another replica holds ${known.baseOffset}..${known.lastOffset} crc ${known.crc}`)
      }
      return
    }
    canonical.set(batch.baseOffset, batch)
    let stored = this.#stored.get(replica.partition)
    if (stored === undefined) this.#stored.set(replica.partition, stored = new Map())
    let ids = this.#storedIds.get(replica.partition)
    if (ids === undefined) this.#storedIds.set(replica.partition, ids = new Map())
    const acked = this.#acked.get(replica.partition)
    for (const record of parseBatch(bytes).records) {
      const id = record.value?.toString('utf8') ?? ''
      if (stored.has(record.offset)) {
        fail('replicas agree below the high watermark', `${replica.partition} offset ${record.offset} is in two different batches`)
      }
      if (!this.#sent.has(id)) fail('no record appears that was never produced', `${replica.partition} offset ${record.offset} holds ${JSON.stringify(id)}`)
      const twice = ids.get(id)
      if (twice !== undefined) fail('an idempotent record is stored once', `${id} is at offsets ${twice} and ${record.offset} of ${replica.partition}`)
      const ack = acked?.get(record.offset)
      if (ack !== undefined && ack !== id) {
        fail('no acknowledged record is lost or moved', `${replica.partition} offset ${record.offset} acknowledged for ${ack} but holds ${id}`)
      }
      stored.set(record.offset, id)
      ids.set(id, record.offset)
    }
  }

  /** After healing: every acknowledged record must be stored where it was acknowledged. */
  checkEveryAcknowledgedRecordStored (): { acknowledged: number } {
    let acknowledged = 0
    for (const [partition, acked] of this.#acked) {
      const stored = this.#stored.get(partition)
      for (const [offset, id] of acked) {
        acknowledged++
        const found = stored?.get(offset)
        if (found !== id) {
          fail('every acknowledged record can be read', `${partition} offset ${offset}: acknowledged ${id}, ${found === undefined ? 'not below any high watermark' : `holds ${found}`}`)
        }
      }
    }
    return { acknowledged }
  }

  // ---- 8, 9: groups ----

  /** `member` of `group` now owns exactly `partitions` (as its consumer believes). */
  observeOwnership (group: string, member: string, partitions: readonly string[]): void {
    let owners = this.#owners.get(group)
    if (owners === undefined) this.#owners.set(group, owners = new Map())
    for (const [partition, owner] of owners) if (owner === member && !partitions.includes(partition)) owners.delete(partition)
    for (const partition of partitions) {
      const owner = owners.get(partition)
      if (owner !== undefined && owner !== member) {
        fail('a partition has at most one owner in a group', `${group}: ${partition} owned by ${owner} and ${member}`)
      }
      owners.set(partition, member)
    }
  }

  observeCommittedOffset (group: string, partition: string, committedOffset: number): void {
    let committed = this.#committed.get(group)
    if (committed === undefined) this.#committed.set(group, committed = new Map())
    const before = committed.get(partition) ?? -1
    if (committedOffset < before) fail('committed offsets never go back', `${group} ${partition}: ${committedOffset} after ${before}`)
    committed.set(partition, committedOffset)
  }

  /** An explicit offset reset: the next committed offset may be lower. */
  offsetsReset (group: string): void {
    this.#committed.delete(group)
  }

  get acknowledgedCount (): number {
    let count = 0
    for (const acked of this.#acked.values()) count += acked.size
    return count
  }
}

function fail (invariant: string, message: string): never {
  throw new ClusterInvariantViolation(invariant, message)
}

/** The batches of one segment file's bytes, stopping at a torn or partial tail (the log ignores it too). */
function * batchesOf (bytes: Buffer): Generator<{ header: BatchHeader; bytes: Buffer }> {
  for (const { position, header } of walkBatches(bytes)) {
    yield { header, bytes: bytes.subarray(position, position + batchSizeBytes(bytes, position)) }
  }
}

/** `<20-digit base offset>.log` → the base offset (storage's segment-file-names.ts); undefined for another name. */
function segmentBaseOffsetOf (name: string): number | undefined {
  const match = /^(\d{20})\.log$/.exec(name)
  const baseOffset = match === null ? NaN : Number(match[1])
  return Number.isSafeInteger(baseOffset) ? baseOffset : undefined
}

/** What the first batch of a segment must start at: its base offset (recovery's `expectedBaseOffset`). */
function segmentStart (segmentBaseOffset: number | undefined): NextOffset {
  return segmentBaseOffset === undefined ? { atLeast: 0 } : { exactly: segmentBaseOffset, atLeast: segmentBaseOffset }
}

/**
 * Where the batch with `header` really starts, given where its predecessors say it must (`next`), and why the
 * broker's header checks would refuse it, if they would. The rules are the ones recovery (batch-scanner.ts, with the
 * segment's base offset as the first expected offset, and batch-header-check.ts) and reads (log-segment.ts
 * `#checkRun`) apply to a log without offset gaps (the simulated topic is not compacted): a baseOffset that does not
 * continue the log, a last offset outside the segment's relative-offset range, a leader epoch below -1.
 * Not the "epochs never decrease" rule: without the leader-epoch checkpoint (which the broker uses to catch a flip
 * that raises an epoch), a raised epoch would pass here and make every valid batch after it look refused, and the
 * epoch is no part of what invariants 4–7 compare.
 */
function placeBatch (header: BatchHeader, next: NextOffset, segmentBaseOffset: number | undefined): { baseOffset: number; refused?: string } {
  const refused = headerProblem(header, next, segmentBaseOffset)
  // A refused batch's own baseOffset may be anything: it starts where its predecessor ended, or at least after it.
  return { baseOffset: next.exactly ?? (refused === undefined ? header.baseOffset : next.atLeast), refused }
}

function headerProblem (header: BatchHeader, next: NextOffset, segmentBaseOffset: number | undefined): string | undefined {
  const { baseOffset } = header
  const continues = next.exactly !== undefined ? baseOffset === next.exactly : Number.isSafeInteger(baseOffset) && baseOffset >= next.atLeast
  if (!continues) return 'batch offset does not continue the log'
  if (segmentBaseOffset !== undefined && baseOffset + header.lastOffsetDelta - segmentBaseOffset > INT32_MAX) return 'batch offset beyond the segment\'s offset range'
  if (header.partitionLeaderEpoch < NO_EPOCH) return 'batch leader epoch out of range'
  return undefined
}

function validBatch (batch: Buffer): boolean {
  try {
    validateBatch(batch, 0)
    return true
  } catch {
    return false
  }
}

