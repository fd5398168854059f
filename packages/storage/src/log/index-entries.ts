/**
 * The storage both sparse indexes share: fixed-width entries in one growable buffer that is also the file's bytes
 * (`toBytes()` is what gets written). Owns growth, the entry count and the check that a loaded file holds whole
 * entries; what an entry means is the owning index's business (offset-index.ts, time-index.ts).
 *
 * Invariant: bytes [0, count * entryBytes) are whole entries; anything after them is unused capacity.
 */
export class IndexEntries {
  readonly entryBytes: number
  /** Bytes after the last whole entry of the file these entries were loaded from (a torn or foreign file). */
  readonly trailingBytes: number
  #bytes: Buffer
  #count: number

  /** Entries over `bytes` (the file contents, used as they are); empty by default. */
  constructor (entryBytes: number, bytes: Buffer = Buffer.alloc(0)) {
    this.entryBytes = entryBytes
    this.#count = Math.floor(bytes.length / entryBytes)
    this.trailingBytes = bytes.length % entryBytes
    this.#bytes = bytes
  }

  get count (): number { return this.#count }

  /** The buffer to read entry `n` from, at `n * entryBytes`. */
  get bytes (): Buffer { return this.#bytes }

  /** Makes room for one more entry and returns the position to write it at; `commitAppend` then counts it. */
  reserveAppend (): number {
    const used = this.#count * this.entryBytes
    if (used + this.entryBytes > this.#bytes.length) {
      const grown = Buffer.alloc(Math.max(64 * this.entryBytes, this.#bytes.length * 2))
      this.#bytes.copy(grown, 0, 0, used)
      this.#bytes = grown
    }
    return used
  }

  commitAppend (): void {
    this.#count += 1
  }

  /** Keeps the first `count` entries. */
  truncateTo (count: number): void {
    this.#count = Math.min(this.#count, Math.max(0, count))
  }

  /** The file contents: the used entries, verbatim. */
  toBytes (): Buffer {
    return this.#bytes.subarray(0, this.#count * this.entryBytes)
  }
}
