/**
 * The durable home of one voter's Raft state in `level`: hard state, log entries and the latest snapshot.
 *
 * Owns: the on-disk key layout and the in-memory mirror (a raft `MemoryStorage`) that the synchronous core reads.
 * Invariants:
 * - Each `Ready` is persisted in ONE atomic level batch (synced when `ready.mustSync`), and only then is the mirror
 *   updated; the mirror therefore never shows the core anything that is not durable.
 * - On open, what is on disk must describe a consistent log (a snapshot, then contiguous entries whose terms never
 *   decrease, a commit index inside the log); otherwise opening fails with KAFKA_STORAGE_ERROR naming the problem.
 *   Every value carries a CRC-32C, so a damaged value is reported, never applied.
 *
 * Keys (utf8): `meta` (cluster and node id), `hard` (hard state), `snap` (snapshot), `e<16 hex digits of index>`
 * (entries; fixed width so key order is index order). Values: crc32c u32 BE over the rest, then the payload:
 *   hard = term u64 | vote u32 | commitIndex u64
 *   snap = index u64 | term u64 | voterCount u32 | voters u32... | data
 *   entry = term u64 | data
 */
import { crc32c } from '@node-rs/crc32'
import { Level } from 'level'
import { ErrorCode, GregorError, type Logger, type NodeId, type RaftIndex, type Term } from '@gregor/common'
import { MemoryStorage, type Entry, type HardState, type Ready, type Snapshot } from '@gregor/raft'

type Batch = Array<{ type: 'put'; key: string; value: Buffer } | { type: 'del'; key: string }>

export interface RaftStoreOptions {
  readonly dir: string
  readonly clusterId: string
  readonly nodeId: NodeId
  readonly voters: readonly NodeId[]
  readonly logger: Logger
}

export class RaftStore {
  readonly storage: MemoryStorage
  readonly #db: Level<string, Buffer>
  readonly #log: Logger

  private constructor (db: Level<string, Buffer>, storage: MemoryStorage, log: Logger) {
    this.#db = db
    this.storage = storage
    this.#log = log
  }

  static async open (options: RaftStoreOptions): Promise<RaftStore> {
    const log = options.logger.child({ component: 'raft-store' })
    const db = new Level<string, Buffer>(options.dir, { keyEncoding: 'utf8', valueEncoding: 'buffer' })
    try {
      await db.open()
    } catch (error) {
      throw new GregorError(ErrorCode.KAFKA_STORAGE_ERROR, 'cannot open raft store', { cause: error, details: { dir: options.dir } })
    }
    try {
      const storage = await load(db, options)
      log.info({ firstIndex: storage.firstIndex(), lastIndex: storage.lastIndex(), ...storage.hardState() }, 'raft store opened')
      return new RaftStore(db, storage, log)
    } catch (error) {
      await db.close()
      throw error
    }
  }

  /** Persists a Ready's durable parts atomically, then shows them to the core through the mirror. */
  async persist (ready: Ready): Promise<void> {
    const batch: Batch = []
    const mirror = this.storage
    if (ready.snapshot !== undefined) {
      batch.push({ type: 'put', key: 'snap', value: seal(encodeSnapshot(ready.snapshot)) })
      // Installing a snapshot discards the whole log it replaces.
      for (let index = mirror.firstIndex(); index <= mirror.lastIndex(); index++) batch.push({ type: 'del', key: entryKey(index) })
    }
    if (ready.entries.length > 0) {
      const first = ready.entries[0] as Entry
      const last = ready.entries[ready.entries.length - 1] as Entry
      // A follower overwriting a conflicting suffix: entries past the new last index must go too.
      for (let index = last.index + 1; index <= mirror.lastIndex(); index++) batch.push({ type: 'del', key: entryKey(index) })
      if (first.index < mirror.firstIndex() && ready.snapshot === undefined) {
        throw new GregorError(ErrorCode.KAFKA_STORAGE_ERROR, 'entries below the log start', { details: { index: first.index } })
      }
      for (const entry of ready.entries) batch.push({ type: 'put', key: entryKey(entry.index), value: seal(encodeEntry(entry)) })
    }
    if (ready.hardState !== undefined) batch.push({ type: 'put', key: 'hard', value: seal(encodeHardState(ready.hardState)) })
    if (batch.length === 0) return
    await this.#db.batch(batch, { sync: ready.mustSync })
    if (ready.snapshot !== undefined) mirror.applySnapshot(ready.snapshot)
    if (ready.entries.length > 0) mirror.append(ready.entries)
    if (ready.hardState !== undefined) mirror.setHardState(ready.hardState)
  }

  /** Records a snapshot of the applied state at `index` and drops the entries it covers (log compaction). */
  async saveSnapshot (index: RaftIndex, data: Uint8Array): Promise<Snapshot> {
    const firstIndex = this.storage.firstIndex()
    const snapshot = this.storage.createSnapshot(index, data)
    const batch: Batch = [{ type: 'put', key: 'snap', value: seal(encodeSnapshot(snapshot)) }]
    for (let i = firstIndex; i <= index; i++) batch.push({ type: 'del', key: entryKey(i) })
    await this.#db.batch(batch, { sync: true })
    this.storage.compact(index)
    this.#log.info({ index, term: snapshot.metadata.term, bytes: data.length }, 'snapshot saved')
    return snapshot
  }

  async close (): Promise<void> {
    await this.#db.close()
  }
}

async function load (db: Level<string, Buffer>, options: RaftStoreOptions): Promise<MemoryStorage> {
  const meta = await db.get('meta')
  const expectedMeta = JSON.stringify({ version: 1, clusterId: options.clusterId, nodeId: options.nodeId })
  if (meta === undefined) {
    await db.put('meta', seal(Buffer.from(expectedMeta)), { sync: true })
  } else if (unseal('meta', meta).toString() !== expectedMeta) {
    throw new GregorError(ErrorCode.INCONSISTENT_CLUSTER_ID, 'raft store belongs to another cluster or node', {
      details: { dir: options.dir, found: unseal('meta', meta).toString(), expected: expectedMeta },
    })
  }
  const storage = new MemoryStorage({ voters: options.voters })
  const snap = await db.get('snap')
  if (snap !== undefined) storage.applySnapshot(decodeSnapshot(unseal('snap', snap)))
  const entries: Entry[] = []
  let expected = storage.firstIndex()
  let previousTerm = storage.term(storage.firstIndex() - 1 as RaftIndex)
  for await (const [key, value] of db.iterator({ gt: 'e', lt: 'f' })) {
    const entry = decodeEntry(key, unseal(key, value))
    if (entry.index !== expected) inconsistent('raft log has a gap', { expectedIndex: expected, foundIndex: entry.index })
    if (entry.term < previousTerm) inconsistent('raft log terms decrease', { index: entry.index, term: entry.term, previousTerm })
    entries.push(entry)
    expected++
    previousTerm = entry.term
  }
  if (entries.length > 0) storage.append(entries)
  const hard = await db.get('hard')
  if (hard !== undefined) {
    const hardState = decodeHardState(unseal('hard', hard))
    if (hardState.commitIndex > storage.lastIndex()) inconsistent('commit index beyond the log', { ...hardState, lastIndex: storage.lastIndex() })
    if (hardState.term < previousTerm) inconsistent('hard state term behind the log', { ...hardState, lastTerm: previousTerm })
    storage.setHardState({ ...hardState, commitIndex: Math.max(hardState.commitIndex, storage.firstIndex() - 1) as RaftIndex })
  }
  return storage
}

function inconsistent (message: string, details: Record<string, unknown>): never {
  throw new GregorError(ErrorCode.KAFKA_STORAGE_ERROR, message, { details })
}

function entryKey (index: number): string {
  return `e${index.toString(16).padStart(16, '0')}`
}

function seal (payload: Buffer): Buffer {
  const value = Buffer.allocUnsafe(4 + payload.length)
  value.writeUInt32BE(crc32c(payload), 0)
  payload.copy(value, 4)
  return value
}

function unseal (key: string, value: Buffer): Buffer {
  if (value.length < 4) inconsistent('raft store value truncated', { key })
  const payload = value.subarray(4)
  if (value.readUInt32BE(0) !== crc32c(payload)) inconsistent('raft store value checksum mismatch', { key })
  return payload
}

function encodeHardState (hardState: HardState): Buffer {
  const buffer = Buffer.allocUnsafe(20)
  buffer.writeBigUInt64BE(BigInt(hardState.term), 0)
  buffer.writeUInt32BE(hardState.vote, 8)
  buffer.writeBigUInt64BE(BigInt(hardState.commitIndex), 12)
  return buffer
}

function decodeHardState (buffer: Buffer): HardState {
  if (buffer.length !== 20) inconsistent('hard state has the wrong size', { bytes: buffer.length })
  return {
    term: Number(buffer.readBigUInt64BE(0)) as Term,
    vote: buffer.readUInt32BE(8) as NodeId,
    commitIndex: Number(buffer.readBigUInt64BE(12)) as RaftIndex,
  }
}

function encodeEntry (entry: Entry): Buffer {
  const buffer = Buffer.allocUnsafe(8 + entry.data.length)
  buffer.writeBigUInt64BE(BigInt(entry.term), 0)
  buffer.set(entry.data, 8)
  return buffer
}

function decodeEntry (key: string, buffer: Buffer): Entry {
  if (buffer.length < 8) inconsistent('entry truncated', { key })
  const index = Number.parseInt(key.slice(1), 16)
  return { term: Number(buffer.readBigUInt64BE(0)) as Term, index: index as RaftIndex, data: Uint8Array.prototype.slice.call(buffer, 8) }
}

function encodeSnapshot (snapshot: Snapshot): Buffer {
  const { index, term, voters } = snapshot.metadata
  const buffer = Buffer.allocUnsafe(20 + 4 * voters.length + snapshot.data.length)
  buffer.writeBigUInt64BE(BigInt(index), 0)
  buffer.writeBigUInt64BE(BigInt(term), 8)
  buffer.writeUInt32BE(voters.length, 16)
  voters.forEach((voter, i) => buffer.writeUInt32BE(voter, 20 + 4 * i))
  buffer.set(snapshot.data, 20 + 4 * voters.length)
  return buffer
}

function decodeSnapshot (buffer: Buffer): Snapshot {
  if (buffer.length < 20) inconsistent('snapshot truncated', {})
  const voterCount = buffer.readUInt32BE(16)
  const dataStart = 20 + 4 * voterCount
  if (buffer.length < dataStart) inconsistent('snapshot truncated', { voterCount })
  const voters: NodeId[] = []
  for (let i = 0; i < voterCount; i++) voters.push(buffer.readUInt32BE(20 + 4 * i) as NodeId)
  return {
    metadata: { index: Number(buffer.readBigUInt64BE(0)) as RaftIndex, term: Number(buffer.readBigUInt64BE(8)) as Term, voters },
    data: Uint8Array.prototype.slice.call(buffer, dataStart),
  }
}
