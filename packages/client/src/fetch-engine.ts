/**
 * The consumer's fetch engine (Kafka's Fetcher + SubscriptionState): fetch positions of the partitions it is given,
 * the fetches in flight, and a buffer of fetched chunks (one `PartitionRecords` per fetch answer and partition,
 * decoded lazily: partition-records.ts) handed out whole (`nextChunk`) or one record at a time (`next`). `Consumer` drives it, with
 * partitions assigned by the caller (group-less) or by the group membership (`group-membership.ts`).
 *
 * Rounds: when the buffer is empty, a round resolves 'earliest'/'latest' starts with ListOffsets, groups the
 * partitions by leader, keeps one long-polling Fetch in flight per leader broker (the broker holds it up to
 * `maxWaitMs` until `minBytes` are there) and returns as soon as any of them answers; an answer's batches are
 * CRC-checked as it arrives and decoded only as they are handed out, records below the position skipped (a fetch
 * returns whole batches). Prefetch: once a chunk starts being handed out and its answer ended below the high
 * watermark, the partition is fetched again at once, with maxWaitMs 0 (what is there now), so the next answer
 * overlaps the application's reading and never holds the broker's one fetch slot while a seek or resume waits.
 * Leader changes: a partition whose leader is unknown, or whose fetch says the leader moved (NOT_LEADER_OR_FOLLOWER,
 * FENCED_LEADER_EPOCH, …) or failed in transport, triggers a metadata refresh and is fetched from the new leader in a
 * later round, after `retryBackoffMs`. A partition whose leader was only not known yet (a new consumer's first round,
 * a newly assigned topic) is fetched as soon as the refreshed metadata names its leader, with no backoff: as Kafka's
 * consumer waits for the metadata, not for `retry.backoff.ms`, before its first fetch. A fetch names the leader it
 * was sent to, so when it stalls (no answer by `maxWaitMs` + the connection's `requestStallMs`) and another broker's
 * metadata names a new leader, the connection abandons it (`details.leaderMoved`) and the next round fetches from the
 * new leader at once: the metadata is already fresh, so no refresh and no backoff. OFFSET_OUT_OF_RANGE (the position
 * fell below the log start through retention, or was never in the log) moves the position to `autoOffsetReset`
 * ('earliest' or 'latest', Kafka's `auto.offset.reset`), or with 'none' ends the iteration with that error, as other
 * errors that are not retriable do.
 * Topic incarnations (KIP-516): a position is an offset in one incarnation of its topic, bound to the topic id the
 * metadata had when the position was first used; Fetch and ListOffsets carry that id, and the broker refuses a stale
 * one (UNKNOWN_TOPIC_ID, INCONSISTENT_TOPIC_ID: retriable, so metadata is refreshed). Once the metadata names another
 * id for the topic, it was deleted and re-created: the position means nothing in the new topic, so it is reset by
 * `autoOffsetReset` as an out-of-range one is (with 'none', the iteration ends with INCONSISTENT_TOPIC_ID), and its
 * buffered records are dropped.
 *
 * Positions per partition, in order: `processed` ≤ `consumed` ≤ `fetchOffset`. `fetchOffset` is the next offset to
 * fetch (after the buffered records); `consumed` the next to hand out (Kafka's position: what `commit()` commits);
 * `processed` the next after the records the application has finished with (what auto-commit commits, so a crash
 * mid-record redelivers it: at-least-once). Removing, pausing or seeking a partition drops its buffered records, and
 * an answer to a fetch sent before such a change is discarded, so a removed partition never yields again.
 *
 * Bounded: one fetch in flight per broker, each answer at most `fetchBytesMax` of encoded records, and a partition
 * is not fetched while it has a chunk waiting that nobody started reading (so per partition at most one chunk being
 * read and one waiting).
 */
import { ErrorCode, GregorError, isGregorError } from '@gregor/common'
import { clientMethods, type gregor } from '@gregor/protocol'
import type { BrokerConnection, SentToLeader } from './cluster-connection.js'
import type { ConsumerMessage } from './fetch-records.js'
import { groupByLeader } from './group-by-leader.js'
import { type PartitionRecordCursor, PartitionRecords } from './partition-records.js'
import type { TopicPartition } from './record-accumulator.js'
import { responseError } from './response-error.js'
import type { Scheduler } from './scheduler.js'
import { topicPartitionKey } from './topic-partition-key.js'

export type StartOffset = number | 'earliest' | 'latest'

export interface ConsumerAssignment {
  readonly topic: string
  readonly partition: number
  readonly offset: StartOffset
}

export interface FetchEngineConfig {
  /** How long the broker may hold a fetch that has fewer than `minBytes` (Kafka `fetch.max.wait.ms`). */
  readonly maxWaitMs: number
  readonly minBytes: number
  /** Bytes of records per fetch response (Kafka `fetch.max.bytes`). */
  readonly fetchBytesMax: number
  /** Bytes of records per partition in one response (Kafka `max.partition.fetch.bytes`). */
  readonly partitionBytesMax: number
  readonly retryBackoffMs: number
  /** Where an out-of-range position goes; 'none' ends the iteration instead. */
  readonly autoOffsetReset: 'earliest' | 'latest' | 'none'
}

/** A partition's offset to commit. */
export interface PartitionOffset extends TopicPartition {
  readonly offset: number
}

/** One fetch answer for one partition, waiting in the buffer; `cursor` once records are being handed out of it. */
interface BufferedChunk {
  readonly key: string
  readonly chunk: PartitionRecords
  /** Handing out has begun: the partition may be fetched again (one chunk waiting per partition at most). */
  started: boolean
  /** For `next()`: where handing out one record at a time has got to. */
  cursor: PartitionRecordCursor | undefined
  /** The first offset not handed out yet. */
  resumeOffset: number
}

interface PartitionPosition {
  readonly topic: string
  readonly partition: number
  readonly start: StartOffset
  /** The next offset to fetch; undefined until 'earliest'/'latest' is resolved. */
  fetchOffset: number | undefined
  /** The next offset to hand out; undefined until the start is resolved. */
  consumed: number | undefined
  /** The next offset after the records the application finished; undefined until the start is resolved. */
  processed: number | undefined
  paused: boolean
  /** The last fetch answer ended below the partition's high watermark: more records are there now (prefetch them). */
  behind: boolean
  /** The id of the topic incarnation the offsets are in: "" until the position is first used with a known id. */
  topicId: string
}

const LIST_OFFSETS_EARLIEST = -2
const LIST_OFFSETS_LATEST = -1

export class FetchEngine {
  readonly #config: FetchEngineConfig
  readonly #connection: BrokerConnection
  readonly #scheduler: Scheduler
  readonly #positions = new Map<string, PartitionPosition>()
  /** Fetched chunks in arrival order; those before `#bufferIndex` are handed out. */
  #buffer: BufferedChunk[] = []
  #bufferIndex = 0
  #closed = false
  /** Waits of the iteration that an assignment change, `fail` or `close` ends early. */
  readonly #wakers = new Set<() => void>()
  /** The fetch in flight per broker id: at most one each, so at most one response per broker is buffered. */
  readonly #inFlight = new Map<number, Promise<void>>()
  /** Partitions (by key) in a fetch in flight: not fetched again until it answers. */
  readonly #fetching = new Set<string>()
  /**
   * The metadata refresh the next round owes: 'leaders' when only a leader was not known yet (no backoff once the
   * metadata names it), 'backoff' after a broker refused or a request failed (a refresh, then `retryBackoffMs`).
   */
  #refresh: 'none' | 'leaders' | 'backoff' = 'none'
  #fatalError: unknown

  constructor (config: FetchEngineConfig, deps: { readonly connection: BrokerConnection; readonly scheduler: Scheduler }) {
    this.#config = config
    this.#connection = deps.connection
    this.#scheduler = deps.scheduler
  }

  /** Replaces every partition; buffered records of partitions no longer assigned are dropped. */
  assign (assignments: readonly ConsumerAssignment[]): void {
    this.remove([...this.#positions.values()])
    this.add(assignments)
  }

  /** Starts fetching these partitions from their start (replacing any position they had). */
  add (assignments: readonly ConsumerAssignment[]): void {
    for (const { topic, partition, offset } of assignments) {
      if (typeof offset === 'number' && (!Number.isSafeInteger(offset) || offset < 0)) {
        throw new GregorError(ErrorCode.INVALID_REQUEST, 'start offset must be a non-negative integer', { details: { topic, partition, offset } })
      }
    }
    this.remove(assignments)
    for (const { topic, partition, offset } of assignments) {
      const known = typeof offset === 'number' ? offset : undefined
      this.#positions.set(topicPartitionKey(topic, partition), {
        topic, partition, start: offset, fetchOffset: known, consumed: known, processed: known, paused: false, behind: false, topicId: '',
      })
    }
    this.#wake()
  }

  /** Stops fetching these partitions and drops their buffered records; an answer in flight for them is discarded. */
  remove (partitions: readonly TopicPartition[]): void {
    const keys = new Set(partitions.map((tp) => topicPartitionKey(tp.topic, tp.partition)))
    for (const partitionKey of keys) this.#positions.delete(partitionKey)
    this.#dropBuffered(keys)
  }

  /** The partitions being fetched (or paused), in the order they were added. */
  partitions (): TopicPartition[] {
    return [...this.#positions.values()].map(({ topic, partition }) => ({ topic, partition }))
  }

  /** Stops handing out and fetching records of these partitions until `resume`; unknown partitions are ignored. */
  pause (partitions: readonly TopicPartition[]): void {
    const keys = new Set<string>()
    for (const tp of partitions) {
      const position = this.#positions.get(topicPartitionKey(tp.topic, tp.partition))
      if (position === undefined) continue
      position.paused = true
      keys.add(topicPartitionKey(tp.topic, tp.partition))
    }
    // Rewound to the first dropped record, so nothing is skipped when the partition resumes.
    this.#dropBuffered(keys)
  }

  resume (partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const position = this.#positions.get(topicPartitionKey(tp.topic, tp.partition))
      if (position !== undefined) position.paused = false
    }
    this.#wake()
  }

  /**
   * Moves a partition's position: the next record handed out is at `offset` of the topic as the metadata names it
   * when it is fetched; throws for a partition not assigned.
   */
  seek (topic: string, partition: number, offset: number): void {
    const position = this.#positions.get(topicPartitionKey(topic, partition))
    if (position === undefined) throw new GregorError(ErrorCode.INVALID_REQUEST, 'partition is not assigned', { details: { topic, partition } })
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new GregorError(ErrorCode.INVALID_REQUEST, 'offset must be a non-negative integer', { details: { topic, partition, offset } })
    }
    this.#dropBuffered(new Set([topicPartitionKey(topic, partition)]))
    position.fetchOffset = offset
    position.consumed = offset
    position.processed = offset
    // An offset in the topic as the metadata knows it now (bound when it is first fetched).
    position.topicId = ''
    this.#wake()
  }

  /** The next offset to fetch for a partition (after the records buffered so far). */
  fetchPosition (topic: string, partition: number): number | undefined {
    return this.#positions.get(topicPartitionKey(topic, partition))?.fetchOffset
  }

  /** Positions to commit of these partitions (all when absent): after the records handed out, or (`processed`) after
   * those the application finished. Partitions whose start is not resolved yet are left out. */
  committable (which: 'consumed' | 'processed', partitions?: readonly TopicPartition[]): PartitionOffset[] {
    const positions = partitions === undefined
      ? [...this.#positions.values()]
      : partitions.map((tp) => this.#positions.get(topicPartitionKey(tp.topic, tp.partition))).filter((p): p is PartitionPosition => p !== undefined)
    const offsets: PartitionOffset[] = []
    for (const position of positions) {
      const offset = position[which]
      if (offset !== undefined) offsets.push({ topic: position.topic, partition: position.partition, offset })
    }
    return offsets
  }

  /** Marks `message` finished by the application: auto-commit may now commit past it. */
  processed (message: ConsumerMessage): void {
    this.processedUpTo(message.topic, message.partition, message.offset + 1)
  }

  /**
   * Marks everything of a partition below `nextOffset` finished by the application (a whole `PartitionRecords`:
   * its `nextOffset`); ignored past what was handed out.
   */
  processedUpTo (topic: string, partition: number, nextOffset: number): void {
    const position = this.#positions.get(topicPartitionKey(topic, partition))
    if (position?.processed !== undefined && position.consumed !== undefined && nextOffset <= position.consumed) {
      position.processed = Math.max(position.processed, nextOffset)
    }
  }

  /** Ends `next` with `error` (thrown from the iteration), as a fatal fetch error would. */
  fail (error: unknown): void {
    this.#fatalError ??= error
    this.#wake()
  }

  /**
   * The next record, fetching as needed; undefined once closed. Throws a fatal error (one not retriable, or
   * OFFSET_OUT_OF_RANGE with autoOffsetReset 'none', or one given to `fail`), or CORRUPT_MESSAGE for a record that
   * does not decode.
   */
  async next (): Promise<ConsumerMessage | undefined> {
    while (!this.#closed) {
      this.#throwFatal()
      const head = await this.#head()
      if (head === undefined) continue
      const cursor = this.#cursorOf(head)
      if (!this.#decoding(head, () => cursor.next())) {
        this.#advance(head)
        continue
      }
      head.resumeOffset = cursor.offset + 1
      const position = this.#positions.get(head.key)
      if (position !== undefined) position.consumed = cursor.offset + 1
      return cursor.message()
    }
    return undefined
  }

  /**
   * The records of one fetch answer for one partition not handed out yet, decoded lazily (partition-records.ts),
   * fetching first if nothing is buffered; undefined once closed. The partition's position moves past the whole
   * chunk (its `nextOffset`), and its next fetch starts now, while the application reads this one.
   */
  async nextChunk (): Promise<PartitionRecords | undefined> {
    while (!this.#closed) {
      this.#throwFatal()
      const head = await this.#head()
      if (head !== undefined) return this.#take(head, head.started ? head.chunk.from(head.resumeOffset) : head.chunk)
    }
    return undefined
  }

  /**
   * The buffered records of one partition (one fetch answer) as messages, fetching first if nothing is buffered;
   * empty once closed. For `eachBatch`: a batch is never longer than one fetch answer, and never empty. Decoded
   * before anything moves, so a record that does not decode (CORRUPT_MESSAGE) leaves the position before the chunk.
   */
  async nextBatch (): Promise<ConsumerMessage[]> {
    while (!this.#closed) {
      this.#throwFatal()
      const head = await this.#head()
      if (head === undefined) continue
      const chunk = head.started ? head.chunk.from(head.resumeOffset) : head.chunk
      const messages = this.#decoding(head, () => chunk.messages())
      this.#take(head, chunk)
      if (messages.length > 0) return messages
    }
    return []
  }

  /** Hands out the rest of `head` as `chunk`: the position moves past it. */
  #take (head: BufferedChunk, chunk: PartitionRecords): PartitionRecords {
    this.#advance(head)
    const position = this.#positions.get(head.key)
    if (position !== undefined) position.consumed = Math.max(position.consumed ?? 0, chunk.nextOffset)
    return chunk
  }

  /**
   * Runs a decode of `head`'s records; when it throws (CORRUPT_MESSAGE: a record the CRC could not catch), the
   * chunk is dropped and the partition fetched again from its first record not handed out, so asking again meets
   * the same error rather than skipping the record.
   */
  #decoding<T> (head: BufferedChunk, decode: () => T): T {
    try {
      return decode()
    } catch (error) {
      this.#dropBuffered(new Set([head.key]))
      throw error
    }
  }

  /** The chunk to hand out from, after a fetch round if none is buffered (then undefined: look again). */
  async #head (): Promise<BufferedChunk | undefined> {
    const head = this.#buffer[this.#bufferIndex]
    if (head !== undefined) return head
    this.#buffer = []
    this.#bufferIndex = 0
    await this.#fetchRound()
    return undefined
  }

  /** The head chunk's cursor; creating it starts the partition's next fetch (its position is already past it). */
  #cursorOf (head: BufferedChunk): PartitionRecordCursor {
    if (head.cursor !== undefined) return head.cursor
    const cursor = head.chunk.records()
    head.cursor = cursor
    this.#started(head)
    return cursor
  }

  /** Done with the head chunk. */
  #advance (head: BufferedChunk): void {
    if (this.#buffer[this.#bufferIndex] === head) this.#bufferIndex++
    head.resumeOffset = head.chunk.nextOffset
    this.#started(head)
  }

  /**
   * Handing out of `head` began: the partition's next fetch may go now, while the application reads this chunk
   * (Kafka's fetcher fetches a partition again once its buffered data is being consumed).
   */
  #started (head: BufferedChunk): void {
    if (head.started) return
    head.started = true
    this.#startFetches('prefetch')
  }

  /** Ends any `next` (it returns undefined). Does not close the connection (the owner does). */
  close (): void {
    this.#closed = true
    this.#wake()
  }

  #throwFatal (): void {
    const fatal = this.#fatalError
    if (fatal === undefined) return
    this.#fatalError = undefined
    throw fatal
  }

  #dropBuffered (keys: ReadonlySet<string>): void {
    if (keys.size === 0) return
    const kept: BufferedChunk[] = []
    for (let index = this.#bufferIndex; index < this.#buffer.length; index++) {
      const buffered = this.#buffer[index]
      if (buffered === undefined) continue
      if (!keys.has(buffered.key)) {
        kept.push(buffered)
        continue
      }
      const position = this.#positions.get(buffered.key)
      // Still assigned (paused): fetch again from the first record not handed out.
      if (position?.fetchOffset !== undefined && buffered.resumeOffset < position.fetchOffset) position.fetchOffset = buffered.resumeOffset
    }
    this.#buffer = kept
    this.#bufferIndex = 0
  }

  #wake (): void {
    for (const waker of [...this.#wakers]) waker()
  }

  /**
   * Starts a Fetch to every leader that has none in flight, then waits for any one fetch to finish: a broker that
   * holds its long poll does not delay the records another broker returned. Backs off (refreshing metadata) when
   * nothing arrived and some partition has no leader or needs a refresh.
   */
  async #fetchRound (): Promise<void> {
    if (![...this.#positions.values()].some((position) => !position.paused)) {
      await this.#waitForWake(this.#config.maxWaitMs)
      return
    }
    this.#resetRecreatedTopics()
    this.#throwFatal()
    try {
      if (await this.#resolveStartOffsets()) this.#refresh = 'backoff'
    } catch (error) {
      if (!isGregorError(error) || !error.retriable) throw error
      this.#refresh = 'backoff'
    }
    this.#startFetches('poll')
    if (this.#inFlight.size > 0) {
      const wake = this.#wakeSignal()
      await Promise.race([...this.#inFlight.values(), wake.promise])
      wake.cancel()
    }
    if (this.#closed) return
    this.#throwFatal()
    if (this.#refresh !== 'none' && this.#bufferIndex >= this.#buffer.length) {
      const afterError = this.#refresh === 'backoff'
      this.#refresh = 'none'
      await this.#connection.metadata([...new Set([...this.#positions.values()].map((p) => p.topic))]).catch(() => undefined)
      // A refresh that only had to learn leaders goes on at once when it did (measured: a new consumer's first
      // records came ~100 ms later, one whole backoff); after a refusal, or with a leader still unknown, back off.
      if (afterError || this.#someLeaderUnknown()) await this.#waitForWake(this.#config.retryBackoffMs)
    }
  }

  /**
   * Starts a Fetch to every leader with none in flight, for its partitions that have a position, are not paused, not
   * in a fetch, and have no chunk waiting in the buffer (at most one waiting chunk and one being read per partition).
   * A 'poll' (the buffer is empty) is a long poll; a 'prefetch' (the application is reading a chunk) goes only to
   * partitions whose last answer ended below their high watermark, and asks for what is there now (maxWaitMs 0): it
   * never holds a broker's one fetch slot while a seek, resume or new assignment waits, and a consumer caught up
   * with the log (a live tail) sends no extra empty fetches.
   */
  #startFetches (kind: 'poll' | 'prefetch'): void {
    if (this.#closed) return
    const waiting = new Set<string>()
    for (let index = this.#bufferIndex; index < this.#buffer.length; index++) {
      const buffered = this.#buffer[index]
      if (buffered !== undefined && !buffered.started) waiting.add(buffered.key)
    }
    const ready = [...this.#positions.entries()]
      .filter(([partitionKey, position]) => position.fetchOffset !== undefined && !position.paused && !this.#fetching.has(partitionKey) &&
        !waiting.has(partitionKey) && (kind === 'poll' || position.behind))
      .map(([, position]) => position)
    if (ready.length === 0) return
    const { groups, leaderless } = groupByLeader(ready, (tp) => this.#connection.leaderFor(tp))
    if (leaderless.length > 0) this.#refreshForLeaders()
    for (const group of groups.values()) {
      if (!this.#inFlight.has(group.brokerId)) this.#startFetch(group.brokerId, group.address, group.items, kind === 'poll' ? this.#config.maxWaitMs : 0)
    }
  }

  #startFetch (brokerId: number, address: string, positions: PartitionPosition[], maxWaitMs: number): void {
    const keys = positions.map((position) => topicPartitionKey(position.topic, position.partition))
    for (const partitionKey of keys) this.#fetching.add(partitionKey)
    const fetch = this.#fetchFrom(brokerId, address, positions, maxWaitMs).then(
      (refresh) => { if (refresh) this.#refresh = 'backoff' },
      (error: unknown) => {
        if (this.#closed) return
        if (isGregorError(error) && error.details.leaderMoved === true) return
        if (isGregorError(error) && error.retriable) this.#refresh = 'backoff'
        else this.#fatalError ??= error
      },
    ).finally(() => {
      this.#inFlight.delete(brokerId)
      for (const partitionKey of keys) this.#fetching.delete(partitionKey)
    })
    this.#inFlight.set(brokerId, fetch)
  }

  /** One Fetch to one broker; buffers what came back. Returns whether some partition needs a metadata refresh. */
  async #fetchFrom (brokerId: number, address: string, positions: PartitionPosition[], maxWaitMs: number): Promise<boolean> {
    const request: gregor.cluster.FetchRequest.$Properties = {
      maxWaitMs,
      minBytes: this.#config.minBytes,
      maxBytes: this.#config.fetchBytesMax,
      partitions: positions.map((position) => ({
        topic: position.topic, partition: position.partition, fetchOffset: position.fetchOffset,
        partitionMaxBytes: this.#config.partitionBytesMax,
        currentLeaderEpoch: this.#connection.leaderFor(position)?.leaderEpoch ?? -1,
        topicId: this.#bindTopicId(position),
      })),
    }
    const requestedOffsets = new Map(positions.map((position) => [position, position.fetchOffset]))
    const response = await this.#connection.call(address, clientMethods.fetch, request, {
      extraWaitMs: maxWaitMs, leaders: sentToLeaders(brokerId, request.partitions ?? []),
    })
    let refresh = false
    for (const result of response.partitions) {
      const position = this.#positions.get(topicPartitionKey(result.topic ?? '', result.partition ?? 0))
      // Removed, re-added, paused or moved while the fetch was out: this answer is for a position that no longer exists.
      if (position?.fetchOffset === undefined || position.paused || requestedOffsets.get(position) !== position.fetchOffset) continue
      const details = { topic: position.topic, partition: position.partition, fetchOffset: position.fetchOffset }
      const error = responseError(result.errorCode, result.errorMessage, details)
      if (error !== undefined) {
        const reset = this.#config.autoOffsetReset
        if (error.code === ErrorCode.OFFSET_OUT_OF_RANGE && reset !== 'none') {
          // A prefetch may find the log truncated under a chunk still being read: its rest goes with the position.
          this.#dropBuffered(new Set([topicPartitionKey(position.topic, position.partition)]))
          this.#resetPosition(position, reset, position.topicId)
          continue
        }
        if (!error.retriable) throw error
        refresh = true
        continue
      }
      const records = result.records ?? new Uint8Array(0)
      // CRC-checked here (CORRUPT_MESSAGE ends the iteration), decoded only as the records are handed out.
      const chunk = new PartitionRecords(Buffer.from(records.buffer, records.byteOffset, records.byteLength), {
        topic: position.topic, partition: position.partition, fetchOffset: position.fetchOffset,
      })
      if (!chunk.empty) {
        const key = topicPartitionKey(position.topic, position.partition)
        this.#buffer.push({ key, chunk, started: false, cursor: undefined, resumeOffset: chunk.fetchOffset })
      }
      position.fetchOffset = chunk.nextOffset
      position.behind = Number(result.highWatermark ?? 0) > chunk.nextOffset
    }
    return refresh
  }

  /** Asks the next round for a refresh to learn leaders, unless one with a backoff is owed already. */
  #refreshForLeaders (): void {
    if (this.#refresh === 'none') this.#refresh = 'leaders'
  }

  /** Whether some partition being fetched has no leader in the metadata. */
  #someLeaderUnknown (): boolean {
    for (const position of this.#positions.values()) {
      if (!position.paused && this.#connection.leaderFor(position) === undefined) return true
    }
    return false
  }

  /**
   * Resolves 'earliest'/'latest' positions with ListOffsets to each leader; returns whether a broker refused (back
   * off). Positions with no known leader only ask for a metadata refresh.
   */
  async #resolveStartOffsets (): Promise<boolean> {
    const unresolved = [...this.#positions.values()].filter((position) => position.fetchOffset === undefined && !position.paused)
    if (unresolved.length === 0) return false
    const { groups, leaderless } = groupByLeader(unresolved, (tp) => this.#connection.leaderFor(tp))
    if (leaderless.length > 0) this.#refreshForLeaders()
    let backoff = false
    for (const group of groups.values()) {
      const leaders = group.items.map((position) => ({
        topic: position.topic, partition: position.partition, leaderEpoch: this.#connection.leaderFor(position)?.leaderEpoch ?? -1,
      }))
      const response = await this.#connection.call(group.address, clientMethods.listOffsets, {
        partitions: group.items.map((position) => ({
          topic: position.topic, partition: position.partition,
          timestamp: position.start === 'earliest' ? LIST_OFFSETS_EARLIEST : LIST_OFFSETS_LATEST,
          topicId: this.#bindTopicId(position),
        })),
      }, { leaders: sentToLeaders(group.brokerId, leaders) })
      backoff = this.#applyListOffsets(response, new Set(group.items)) || backoff
    }
    return backoff
  }

  #applyListOffsets (response: gregor.cluster.ListOffsetsResponse, asked: ReadonlySet<PartitionPosition>): boolean {
    let backoff = false
    for (const result of response.partitions) {
      const position = this.#positions.get(topicPartitionKey(result.topic ?? '', result.partition ?? 0))
      // Removed or replaced (seek, re-assignment) while ListOffsets was out.
      if (position === undefined || !asked.has(position) || position.fetchOffset !== undefined) continue
      const error = responseError(result.errorCode, result.errorMessage, { topic: position.topic, partition: position.partition })
      if (error !== undefined && !error.retriable) throw error
      if (error !== undefined || (result.offset ?? -1) < 0) backoff = true
      else {
        const offset = result.offset ?? 0
        position.fetchOffset = offset
        position.consumed = offset
        position.processed = offset
      }
    }
    return backoff
  }

  /** The topic id a position's offsets are in: the metadata's, the first time it is known (see the header). */
  #bindTopicId (position: PartitionPosition): string {
    if (position.topicId === '') position.topicId = this.#connection.snapshot.topics.get(position.topic)?.topicId ?? ''
    return position.topicId
  }

  /**
   * Positions whose topic the metadata now names with another id were in a topic since deleted (and re-created):
   * reset by `autoOffsetReset` in the new one (Kafka resets a position whose topic id changed), or, with 'none', the
   * iteration ends with INCONSISTENT_TOPIC_ID.
   */
  #resetRecreatedTopics (): void {
    for (const position of [...this.#positions.values()]) {
      const topicId = this.#connection.snapshot.topics.get(position.topic)?.topicId ?? ''
      if (position.topicId === '' || topicId === '' || topicId === position.topicId) continue
      const { topic, partition } = position
      this.#dropBuffered(new Set([topicPartitionKey(topic, partition)]))
      const reset = this.#config.autoOffsetReset
      if (reset === 'none') {
        // Thrown by every `next` until a `seek` or a new assignment gives the partition a position in the new topic.
        this.#fatalError ??= new GregorError(ErrorCode.INCONSISTENT_TOPIC_ID, 'topic was re-created: the position is in its previous incarnation', {
          retriable: false, details: { topic, partition, fetchOffset: position.fetchOffset, topicId: position.topicId, currentTopicId: topicId },
        })
        continue
      }
      this.#resetPosition(position, reset, topicId)
    }
  }

  /** Replaces `position` by one resolved with ListOffsets in the next round, like an assignment to `start`. */
  #resetPosition (position: PartitionPosition, start: 'earliest' | 'latest', topicId: string): void {
    this.#positions.set(topicPartitionKey(position.topic, position.partition), {
      topic: position.topic, partition: position.partition, start,
      fetchOffset: undefined, consumed: undefined, processed: undefined, paused: position.paused, behind: false, topicId,
    })
  }

  /** Resolves when `#wake` is called (assignment changed, closed, failed) or after `delayMs` if given. */
  async #waitForWake (delayMs?: number): Promise<void> {
    await this.#wakeSignal(delayMs).promise
  }

  /** A wait that `#wake` ends (or `delayMs`, if given); `cancel` unregisters it, so unused waits do not pile up. */
  #wakeSignal (delayMs?: number): { readonly promise: Promise<void>; readonly cancel: () => void } {
    let done: () => void = () => {}
    const promise = new Promise<void>((resolve) => {
      const cancelTimer = delayMs === undefined ? undefined : this.#scheduler.setTimer(delayMs, () => { done() })
      done = (): void => {
        cancelTimer?.()
        this.#wakers.delete(done)
        resolve()
      }
      if (this.#closed) done()
      else this.#wakers.add(done)
    })
    return { promise, cancel: done }
  }
}

/** The leader (broker and epoch) each partition of a request went to, for the connection's stall watch. */
function sentToLeaders (
  brokerId: number,
  partitions: ReadonlyArray<{ readonly topic?: string | null; readonly partition?: number | null; readonly currentLeaderEpoch?: number | null; readonly leaderEpoch?: number | null }>,
): SentToLeader[] {
  return partitions.map((p) => ({
    topic: p.topic ?? '', partition: p.partition ?? 0, brokerId, leaderEpoch: p.currentLeaderEpoch ?? p.leaderEpoch ?? -1,
  }))
}
