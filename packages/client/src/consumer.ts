/**
 * `Consumer` without groups: the caller assigns partitions and a start position, and iterates records with
 * `for await (const message of consumer)`.
 *
 * Owns: the fetch position of each assigned partition, the fetches in flight, and a buffer of fetched records.
 * When the buffer is empty, a round resolves 'earliest'/'latest' starts with ListOffsets, groups the partitions by
 * leader, keeps one long-polling Fetch in flight per leader broker (the broker holds it up to `maxWaitMs` until
 * `minBytes` are there) and returns as soon as any of them answers; answers are decoded with `fetchedRecords`,
 * which skips records below the position (a fetch returns whole batches).
 * Leader changes: a partition whose leader is unknown, or whose fetch says the leader moved (NOT_LEADER_OR_FOLLOWER,
 * FENCED_LEADER_EPOCH, …) or failed in transport, triggers a metadata refresh and is fetched from the new leader in a
 * later round, after `retryBackoffMs`. OFFSET_OUT_OF_RANGE (the position fell below the log start through retention,
 * or was never in the log) moves the position to `autoOffsetReset` ('earliest' or 'latest', Kafka's
 * `auto.offset.reset`), or with 'none', the default, ends the iteration with that error, as other errors that are
 * not retriable do.
 *
 * Bounded: one fetch in flight per broker, each answer at most `fetchBytesMax` of encoded records, and no new
 * fetch while the buffer still holds records. `close` ends a running iteration after the fetch in flight (cancelled) returns.
 */
import { ErrorCode, GregorError, isGregorError, type Offset, offset as toOffset } from '@gregor/common'
import { clientMethods, type gregor } from '@gregor/protocol'
import { type ClientConfig, connectionFor } from './admin.js'
import type { ClusterConnection } from './cluster-connection.js'
import { type ConsumerMessage, fetchedRecords } from './fetch-records.js'
import { groupByLeader } from './group-by-leader.js'
import { responseError } from './response-error.js'

export type StartOffset = number | 'earliest' | 'latest'

export interface ConsumerAssignment {
  readonly topic: string
  readonly partition: number
  readonly offset: StartOffset
}

export interface ConsumerOptions extends ClientConfig {
  /** How long the broker may hold a fetch that has fewer than `minBytes` (Kafka `fetch.max.wait.ms`). */
  readonly maxWaitMs?: number
  readonly minBytes?: number
  /** Bytes of records per fetch response (Kafka `fetch.max.bytes`). */
  readonly fetchBytesMax?: number
  /** Bytes of records per partition in one response (Kafka `max.partition.fetch.bytes`). */
  readonly partitionBytesMax?: number
  readonly retryBackoffMs?: number
  /** Where an out-of-range position goes (Kafka `auto.offset.reset`); 'none' (default) ends the iteration instead. */
  readonly autoOffsetReset?: 'earliest' | 'latest' | 'none'
}

interface PartitionPosition {
  readonly topic: string
  readonly partition: number
  readonly start: StartOffset
  /** The next offset to fetch; undefined until 'earliest'/'latest' is resolved. */
  offset: number | undefined
}

const defaults = {
  maxWaitMs: 500, minBytes: 1, fetchBytesMax: 16 * 1024 * 1024, partitionBytesMax: 1024 * 1024, retryBackoffMs: 100,
  autoOffsetReset: 'none' as 'earliest' | 'latest' | 'none',
}
const LIST_OFFSETS_EARLIEST = -2
const LIST_OFFSETS_LATEST = -1

export class Consumer implements AsyncIterable<ConsumerMessage> {
  readonly #options: typeof defaults
  readonly #connection: ClusterConnection
  readonly #positions = new Map<string, PartitionPosition>()
  #buffer: ConsumerMessage[] = []
  #bufferIndex = 0
  #closed = false
  #wakeSleep: (() => void) | undefined
  /** The fetch in flight per broker id: at most one each, so at most one response per broker is buffered. */
  readonly #inFlight = new Map<number, Promise<void>>()
  /** Partitions (by key) in a fetch in flight: not fetched again until it answers. */
  readonly #fetching = new Set<string>()
  #needsRefresh = false
  #fatalError: unknown

  constructor (options: ConsumerOptions) {
    this.#options = {
      maxWaitMs: options.maxWaitMs ?? defaults.maxWaitMs,
      minBytes: options.minBytes ?? defaults.minBytes,
      fetchBytesMax: options.fetchBytesMax ?? defaults.fetchBytesMax,
      partitionBytesMax: options.partitionBytesMax ?? defaults.partitionBytesMax,
      retryBackoffMs: options.retryBackoffMs ?? defaults.retryBackoffMs,
      autoOffsetReset: options.autoOffsetReset ?? defaults.autoOffsetReset,
    }
    this.#connection = connectionFor(options)
  }

  /** Replaces the assignment; buffered records of partitions no longer assigned are dropped. */
  assign (assignments: readonly ConsumerAssignment[]): void {
    this.#positions.clear()
    for (const { topic, partition, offset } of assignments) {
      if (typeof offset === 'number' && (!Number.isSafeInteger(offset) || offset < 0)) {
        throw new GregorError(ErrorCode.INVALID_REQUEST, 'start offset must be a non-negative integer', { details: { topic, partition, offset } })
      }
      this.#positions.set(key(topic, partition), { topic, partition, start: offset, offset: typeof offset === 'number' ? offset : undefined })
    }
    this.#buffer = this.#buffer.slice(this.#bufferIndex).filter((message) => this.#positions.has(key(message.topic, message.partition)))
    this.#bufferIndex = 0
  }

  /** The next offset the consumer will yield for a partition (after the records buffered so far). */
  position (topic: string, partition: number): Offset | undefined {
    const position = this.#positions.get(key(topic, partition))?.offset
    return position === undefined ? undefined : toOffset(position)
  }

  async * [Symbol.asyncIterator] (): AsyncGenerator<ConsumerMessage, void, undefined> {
    while (!this.#closed) {
      const message = this.#buffer[this.#bufferIndex]
      if (message === undefined) {
        this.#buffer = []
        this.#bufferIndex = 0
        await this.#fetchRound()
        continue
      }
      this.#bufferIndex++
      yield message
    }
  }

  /** Ends any iteration (it returns, without error) and closes the connections. */
  close (): void {
    this.#closed = true
    this.#wakeSleep?.()
    this.#connection.close()
  }

  /**
   * Starts a Fetch to every leader that has none in flight, then waits for any one fetch to finish: a broker that
   * holds its long poll does not delay the records another broker returned. Rethrows a fatal fetch error; backs off
   * (refreshing metadata) when nothing arrived and some partition has no leader or needs a refresh.
   */
  async #fetchRound (): Promise<void> {
    if (this.#positions.size === 0) {
      await this.#sleep(this.#options.maxWaitMs)
      return
    }
    try {
      if (await this.#resolveStartOffsets()) this.#needsRefresh = true
    } catch (error) {
      if (!isGregorError(error) || !error.retriable) throw error
      this.#needsRefresh = true
    }
    const ready = [...this.#positions.entries()]
      .filter(([partitionKey, position]) => position.offset !== undefined && !this.#fetching.has(partitionKey))
      .map(([, position]) => position)
    const { groups, leaderless } = groupByLeader(ready, (tp) => this.#connection.leaderFor(tp))
    if (leaderless.length > 0) this.#needsRefresh = true
    for (const group of groups.values()) {
      if (!this.#inFlight.has(group.brokerId)) this.#startFetch(group.brokerId, group.address, group.items)
    }
    if (this.#inFlight.size > 0) await Promise.race(this.#inFlight.values())
    if (this.#closed) return
    const fatal = this.#fatalError
    if (fatal !== undefined) {
      this.#fatalError = undefined
      throw fatal
    }
    if (this.#needsRefresh && this.#bufferIndex >= this.#buffer.length) {
      this.#needsRefresh = false
      await this.#connection.metadata([...new Set([...this.#positions.values()].map((p) => p.topic))]).catch(() => undefined)
      await this.#sleep(this.#options.retryBackoffMs)
    }
  }

  #startFetch (brokerId: number, address: string, positions: PartitionPosition[]): void {
    const keys = positions.map((position) => key(position.topic, position.partition))
    for (const partitionKey of keys) this.#fetching.add(partitionKey)
    const fetch = this.#fetchFrom(address, positions).then(
      (refresh) => { if (refresh) this.#needsRefresh = true },
      (error: unknown) => {
        if (this.#closed) return
        if (isGregorError(error) && error.retriable) this.#needsRefresh = true
        else this.#fatalError ??= error
      },
    ).finally(() => {
      this.#inFlight.delete(brokerId)
      for (const partitionKey of keys) this.#fetching.delete(partitionKey)
    })
    this.#inFlight.set(brokerId, fetch)
  }

  /** One Fetch to one broker; buffers what came back. Returns whether some partition needs a metadata refresh. */
  async #fetchFrom (address: string, positions: PartitionPosition[]): Promise<boolean> {
    const request: gregor.cluster.FetchRequest.$Properties = {
      maxWaitMs: this.#options.maxWaitMs,
      minBytes: this.#options.minBytes,
      maxBytes: this.#options.fetchBytesMax,
      partitions: positions.map((position) => ({
        topic: position.topic, partition: position.partition, fetchOffset: position.offset,
        partitionMaxBytes: this.#options.partitionBytesMax,
        currentLeaderEpoch: this.#connection.leaderFor(position)?.leaderEpoch ?? -1,
      })),
    }
    const requestedOffsets = new Map(positions.map((position) => [position, position.offset]))
    const response = await this.#connection.call(address, clientMethods.fetch, request, { extraWaitMs: this.#options.maxWaitMs })
    let refresh = false
    for (const result of response.partitions) {
      const position = this.#positions.get(key(result.topic ?? '', result.partition ?? 0))
      // Re-assigned or moved while the fetch was out: this answer is for a position that no longer exists.
      if (position?.offset === undefined || requestedOffsets.get(position) !== position.offset) continue
      const details = { topic: position.topic, partition: position.partition, fetchOffset: position.offset }
      const error = responseError(result.errorCode, result.errorMessage, details)
      if (error !== undefined) {
        const reset = this.#options.autoOffsetReset
        if (error.code === ErrorCode.OFFSET_OUT_OF_RANGE && reset !== 'none') {
          // Resolved with ListOffsets in the next round, like an assignment to 'earliest' or 'latest'.
          this.#positions.set(key(position.topic, position.partition), { topic: position.topic, partition: position.partition, start: reset, offset: undefined })
          continue
        }
        if (!error.retriable) throw error
        refresh = true
        continue
      }
      const records = result.records ?? new Uint8Array(0)
      const fetched = fetchedRecords(Buffer.from(records.buffer, records.byteOffset, records.byteLength), {
        topic: position.topic, partition: position.partition, fetchOffset: position.offset,
      })
      for (const message of fetched.messages) this.#buffer.push(message)
      position.offset = fetched.nextOffset
    }
    return refresh
  }

  /** Resolves 'earliest'/'latest' positions with ListOffsets to each leader; returns whether to back off. */
  async #resolveStartOffsets (): Promise<boolean> {
    const unresolved = [...this.#positions.values()].filter((position) => position.offset === undefined)
    if (unresolved.length === 0) return false
    const { groups, leaderless } = groupByLeader(unresolved, (tp) => this.#connection.leaderFor(tp))
    let backoff = leaderless.length > 0
    for (const group of groups.values()) {
      const response = await this.#connection.call(group.address, clientMethods.listOffsets, {
        partitions: group.items.map((position) => ({
          topic: position.topic, partition: position.partition,
          timestamp: position.start === 'earliest' ? LIST_OFFSETS_EARLIEST : LIST_OFFSETS_LATEST,
        })),
      })
      backoff = this.#applyListOffsets(response) || backoff
    }
    return backoff
  }

  #applyListOffsets (response: gregor.cluster.ListOffsetsResponse): boolean {
    let backoff = false
    for (const result of response.partitions) {
      const position = this.#positions.get(key(result.topic ?? '', result.partition ?? 0))
      if (position === undefined || position.offset !== undefined) continue
      const error = responseError(result.errorCode, result.errorMessage, { topic: position.topic, partition: position.partition })
      if (error !== undefined && !error.retriable) throw error
      if (error !== undefined || (result.offset ?? -1) < 0) backoff = true
      else position.offset = result.offset ?? 0
    }
    return backoff
  }

  async #sleep (delayMs: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delayMs)
      this.#wakeSleep = () => { clearTimeout(timer); resolve() }
    })
    this.#wakeSleep = undefined
  }
}

function key (topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}

