/**
 * A least-recently-used cache of open segment file handles, shared by every partition log of a broker, so that
 * thousands of partitions (each with several segments) never hold more than about `openFilesMax` descriptors.
 *
 * Owns: the handles. Callers never close one; they take a lease (`acquire` or `use`) for the duration of one I/O
 * call and give it back. Invariants:
 * - A handle is closed only when no lease on it is outstanding, so an in-flight read, write or fdatasync is never cut
 *   off. When every open handle is leased the cache goes over `openFilesMax` for as long as that lasts (a soft limit:
 *   waiting instead could deadlock an operation that needs two files).
 * - `forget(path)` (before a file is deleted or renamed) drops the path at once: new leases open a fresh handle, the
 *   old one closes when its last lease ends.
 * - Handles are opened 'r+' (read and positional write, no create): `LogSegment.create` makes the file first.
 * Closing a handle loses nothing: dirty pages belong to the file, and an fdatasync through any later handle flushes
 * them.
 *
 * The cache also carries the `FileSystem` its handles come from: every log sharing it does all its file I/O there.
 */
import type { FileHandle, FileSystem } from '../fs/file-system.js'

export interface FileLease {
  readonly handle: FileHandle
  /** Gives the handle back; call exactly once. */
  release (): void
}

interface Entry {
  readonly path: string
  handle: FileHandle | undefined
  opening: Promise<FileHandle> | undefined
  leases: number
  forgotten: boolean
  openFailed: boolean
}

export class FileHandleCache {
  readonly openFilesMax: number
  readonly fs: FileSystem
  /** Map order is recency order: the first entry is the least recently used. */
  readonly #entries = new Map<string, Entry>()
  readonly #closing = new Set<Promise<void>>()
  #openCount = 0

  constructor (options: { openFilesMax: number; fs: FileSystem }) {
    if (!Number.isSafeInteger(options.openFilesMax) || options.openFilesMax < 1) {
      throw new RangeError(`openFilesMax must be a positive integer, got ${options.openFilesMax}`)
    }
    this.openFilesMax = options.openFilesMax
    this.fs = options.fs
  }

  /** Handles open or opening now (leased ones included). */
  get openCount (): number {
    return this.#openCount
  }

  /** A lease on an open handle of `path`, opening it (and evicting the least recently used idle one) if needed. */
  async acquire (path: string): Promise<FileLease> {
    let entry = this.#entries.get(path)
    if (entry === undefined) {
      entry = { path, handle: undefined, opening: undefined, leases: 0, forgotten: false, openFailed: false }
      this.#entries.set(path, entry)
      this.#openCount += 1
      entry.opening = this.fs.open(path, 'r+')
    } else {
      this.#entries.delete(path)
      this.#entries.set(path, entry)
    }
    entry.leases += 1
    if (entry.handle === undefined) {
      try {
        entry.handle = await (entry.opening as Promise<FileHandle>)
      } catch (error) {
        this.#dropFailedOpen(entry)
        throw error
      }
      entry.opening = undefined
      this.#evictIdle()
    }
    return this.#lease(entry, entry.handle)
  }

  /** Runs `fn` with a leased handle of `path`. */
  async use<T> (path: string, fn: (handle: FileHandle) => Promise<T>): Promise<T> {
    const lease = this.#leaseIfOpen(path) ?? await this.acquire(path)
    try {
      return await fn(lease.handle)
    } finally {
      lease.release()
    }
  }

  /**
   * Drops `path` from the cache (call before deleting or truncating-by-rename a file). Resolves once an idle handle is
   * closed; a leased one closes when its last lease ends.
   */
  async forget (path: string): Promise<void> {
    const entry = this.#entries.get(path)
    if (entry === undefined) return
    this.#entries.delete(path)
    entry.forgotten = true
    if (entry.opening !== undefined) await entry.opening.catch(() => {})
    if (entry.leases === 0 && entry.handle !== undefined) await this.#close(entry)
  }

  /** Closes every idle handle and waits for closes in progress; leased handles close when released. */
  async closeAll (): Promise<void> {
    await Promise.all([...this.#entries.keys()].map(async (path) => await this.forget(path)))
    await Promise.all([...this.#closing])
  }

  /** The hot path (a handle already open): a lease without an await. */
  #leaseIfOpen (path: string): FileLease | undefined {
    const entry = this.#entries.get(path)
    if (entry?.handle === undefined) return undefined
    this.#entries.delete(path)
    this.#entries.set(path, entry)
    entry.leases += 1
    return this.#lease(entry, entry.handle)
  }

  #lease (entry: Entry, handle: FileHandle): FileLease {
    let released = false
    return {
      handle,
      release: () => {
        if (released) throw new Error(`file lease on ${entry.path} released twice`)
        released = true
        entry.leases -= 1
        if (entry.leases > 0) return
        if (entry.forgotten) void this.#close(entry)
        else this.#evictIdle()
      },
    }
  }

  #evictIdle (): void {
    if (this.#openCount <= this.openFilesMax) return
    for (const entry of this.#entries.values()) {
      if (this.#openCount <= this.openFilesMax) return
      if (entry.leases > 0 || entry.handle === undefined) continue
      this.#entries.delete(entry.path)
      entry.forgotten = true
      void this.#close(entry)
    }
  }

  #dropFailedOpen (entry: Entry): void {
    entry.leases -= 1
    if (entry.openFailed) return
    entry.openFailed = true
    entry.opening = undefined
    entry.forgotten = true
    if (this.#entries.get(entry.path) === entry) this.#entries.delete(entry.path)
    this.#openCount -= 1
  }

  #close (entry: Entry): Promise<void> {
    const handle = entry.handle
    if (handle === undefined) return Promise.resolve()
    entry.handle = undefined
    this.#openCount -= 1
    // A close error leaves nothing to recover: the descriptor is released by the kernel either way.
    const closing = handle.close().catch(() => {}).finally(() => this.#closing.delete(closing))
    this.#closing.add(closing)
    return closing
  }
}
