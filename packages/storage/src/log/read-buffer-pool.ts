/**
 * Reusable buffers for log reads whose bytes are copied out soon after (issue 12): a leader answering a follower over
 * gRPC reads a run of batches into a buffer that protobufjs then copies into the encoded response, after which nothing
 * needs it. A fresh `Buffer.allocUnsafe` per read is external memory, which drives V8's full collections; the pool
 * hands the same few buffers out again instead.
 *
 * Owns: the free buffers (all `bufferBytes` long, at most `freeBuffersMax` kept). `ReadBuffers` is one response's
 * lease: reads allocate through it, and whoever copied the response out releases it once, which returns every pooled
 * buffer it handed out.
 *
 * Invariants: a buffer is handed out by at most one lease at a time, and is back in the pool only after that lease's
 * `release`, so a buffer still referenced by an unreleased response is never handed out again; a lease that is never
 * released only costs the pool those buffers (the garbage collector takes them). A read larger than `bufferBytes` gets
 * a plain allocation, never pooled. After `release`, a lease allocates plain buffers only (a late read must not take a
 * pooled buffer that nobody will give back).
 */

export interface ReadBufferPoolOptions {
  /** Size of each pooled buffer: reads up to this size are served from the pool. */
  readonly bufferBytes: number
  /** Free buffers kept at most (more in use at once are allocated and dropped on release). */
  readonly freeBuffersMax: number
}

export class ReadBufferPool {
  readonly bufferBytes: number
  readonly #freeBuffersMax: number
  readonly #free: Buffer[] = []
  #allocated = 0

  constructor (options: ReadBufferPoolOptions) {
    if (!Number.isSafeInteger(options.bufferBytes) || options.bufferBytes <= 0) throw new RangeError('bufferBytes must be a positive integer')
    if (!Number.isSafeInteger(options.freeBuffersMax) || options.freeBuffersMax < 0) throw new RangeError('freeBuffersMax must be a non-negative integer')
    this.bufferBytes = options.bufferBytes
    this.#freeBuffersMax = options.freeBuffersMax
  }

  /** A new lease: allocate through it, release it once its bytes were copied out. */
  lease (): ReadBuffers {
    return new ReadBuffers(this)
  }

  /** Free buffers in the pool now. */
  get freeCount (): number {
    return this.#free.length
  }

  /** Pooled-size buffers allocated since the pool was made (reuse keeps this flat). */
  get allocatedCount (): number {
    return this.#allocated
  }

  /** @internal A whole pooled buffer (for `ReadBuffers`). */
  take (): Buffer {
    const buffer = this.#free.pop()
    if (buffer !== undefined) return buffer
    this.#allocated += 1
    return Buffer.allocUnsafeSlow(this.bufferBytes)
  }

  /** @internal Gives back a buffer `take` returned (for `ReadBuffers.release`). */
  give (buffer: Buffer): void {
    if (this.#free.length < this.#freeBuffersMax) this.#free.push(buffer)
  }
}

/** One response's buffers from a `ReadBufferPool`. */
export class ReadBuffers {
  readonly #pool: ReadBufferPool
  #taken: Buffer[] = []
  #released = false

  constructor (pool: ReadBufferPool) {
    this.#pool = pool
  }

  /** A buffer of exactly `size` bytes (a view of a pooled one when it fits), uninitialized. */
  readonly allocate = (size: number): Buffer => {
    if (this.#released || size > this.#pool.bufferBytes) return Buffer.allocUnsafe(size)
    const buffer = this.#pool.take()
    this.#taken.push(buffer)
    return buffer.subarray(0, size)
  }

  /** Returns every pooled buffer this lease handed out: call once nothing references the bytes read through it. */
  release (): void {
    if (this.#released) return
    this.#released = true
    const taken = this.#taken
    this.#taken = []
    for (const buffer of taken) this.#pool.give(buffer)
  }
}
