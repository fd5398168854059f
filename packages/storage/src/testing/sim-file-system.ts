/**
 * A simulated disk: an in-memory `FileSystem` for the whole-cluster simulation and for tests, deterministic (no
 * timers, no clock, randomness only from the caller's `Rng`) and able to lose what a real disk loses.
 *
 * Model (ext4-like, data=ordered, simplified):
 * - A file (inode) has current bytes (what reads see) and durable bytes (what survives a power loss). Writes and
 *   truncations change the current bytes; `sync`/`datasync` on any handle of the file make its current bytes durable.
 * - A directory has current entries and durable entries. Creates, renames and unlinks change the current entries;
 *   `syncDirectory(dir)` makes that directory's current entries durable. So a file created and synced whose directory
 *   was never synced vanishes on a crash, an unlink that was not synced comes back, and a rename that was not synced
 *   is undone (a rename between two directories needs both synced).
 * - `crash(rng?)` is a power loss: every directory reverts to its durable entries and every file still reachable
 *   through them to its durable bytes. With an `rng`, a file whose only unsynced change is an append keeps a random
 *   prefix of that tail (a torn write). Open handles become invalid: any later use fails with EBADF.
 * - The root directory `/` always exists. Paths are POSIX, normalized; a relative path is taken from `/`. Fault
 *   prefixes are compared with normalized paths.
 *
 * Faults, all set by the caller and deterministic:
 * - `failNextSync(prefix)`: the next `sync`/`datasync` of a file, or `syncDirectory`, whose path starts with
 *   `prefix` rejects with EIO and makes nothing durable (one-shot per call). Simplification: unlike Linux, a later
 *   successful sync still makes those bytes durable; the log never retries a failed sync, so this is not relied on.
 * - `setFull(true)`: every write or truncation that grows a file rejects with ENOSPC (nothing written); so does
 *   growth past `capacityBytes` (counted over the current bytes of all files).
 * - `failReads(prefix, true)`: reads (`handle.read`, `readFile`) of paths starting with `prefix` reject with EIO.
 * - `flipByte(path, position)`: bit rot, in both the current and the durable bytes.
 *
 * Errors are Node-style: `Error` with `code` ('ENOENT', 'EEXIST', 'ENOSPC', 'EIO', 'EBADF', 'ENOTDIR', 'EISDIR'),
 * `syscall` and `path`. Every operation first awaits `ioHook` (if given), so the simulation can make I/O take virtual
 * time; the operation itself then runs without interruption (atomic with respect to other operations).
 */
import { posix } from 'node:path'
import type { Rng } from '@gregor/common'
import type { FileHandle, FileStats, FileSystem, OpenFlags } from '../fs/file-system.js'

export interface SimFileSystemOptions {
  /** Awaited at the start of every operation (fs and handle calls): lets a simulation make I/O take virtual time. */
  readonly ioHook?: () => Promise<void>
  /** Total bytes the files may hold (current bytes); growth beyond it fails with ENOSPC. Default: unlimited. */
  readonly capacityBytes?: number
}

/** A growable byte buffer: `bytes.subarray(0, size)` is the content. */
interface Bytes {
  bytes: Buffer
  size: number
}

class SimFile {
  readonly kind = 'file'
  current: Bytes = { bytes: Buffer.alloc(0), size: 0 }
  durable: Bytes = { bytes: Buffer.alloc(0), size: 0 }
  /** Lowest position changed since the last sync (Infinity: current equals durable). */
  dirtyFrom = Infinity
}

class SimDir {
  readonly kind = 'dir'
  entries = new Map<string, SimNode>()
  durableEntries = new Map<string, SimNode>()
}

type SimNode = SimFile | SimDir

type Syscall = 'open' | 'read' | 'write' | 'fsync' | 'ftruncate' | 'fstat' | 'close' | 'scandir' | 'mkdir' | 'rename' | 'unlink' | 'rm' | 'stat'

const MESSAGES: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EEXIST: 'file already exists',
  ENOSPC: 'no space left on device',
  EIO: 'i/o error',
  EBADF: 'bad file descriptor',
  ENOTDIR: 'not a directory',
  EISDIR: 'illegal operation on a directory',
  EINVAL: 'invalid argument',
}

/** A Node-style system error. */
export function simFsError (code: string, syscall: Syscall, path?: string): Error & { code: string; syscall: string; path?: string } {
  const message = `${code}: ${MESSAGES[code] ?? 'error'}, ${syscall}${path === undefined ? '' : ` '${path}'`}`
  return Object.assign(new Error(message), { code, syscall, ...(path === undefined ? {} : { path }) })
}

function normalize (path: string): string {
  const normal = posix.normalize(path.startsWith('/') ? path : `/${path}`)
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal
}

function components (path: string): string[] {
  return path === '/' ? [] : path.slice(1).split('/')
}

function copyBytes (from: Bytes): Bytes {
  return { bytes: Buffer.from(from.bytes.subarray(0, from.size)), size: from.size }
}

/** Makes room for `size` bytes (amortized doubling), zero-filling what lies past the old size. */
function ensureCapacity (target: Bytes, size: number): void {
  if (size <= target.bytes.length) {
    if (size > target.size) target.bytes.fill(0, target.size, size)
    return
  }
  const grown = Buffer.alloc(Math.max(size, target.bytes.length * 2, 64))
  target.bytes.copy(grown, 0, 0, target.size)
  target.bytes = grown
}

export class SimFileSystem implements FileSystem {
  #root = new SimDir()
  /** Bumped by `crash`: handles of an older generation are invalid. */
  #generation = 0
  #full = false
  readonly #capacityBytes: number
  readonly #ioHook: (() => Promise<void>) | undefined
  readonly #syncFailures: string[] = []
  readonly #readFailures = new Set<string>()

  constructor (options: SimFileSystemOptions = {}) {
    this.#ioHook = options.ioHook
    this.#capacityBytes = options.capacityBytes ?? Infinity
  }

  // ---- faults and inspection ----

  /** Power loss: see the header. Handles opened before it fail with EBADF from now on. */
  crash (rng?: Rng): void {
    this.#generation += 1
    const seen = new Set<SimNode>()
    const visit = (dir: SimDir): void => {
      dir.entries = new Map(dir.durableEntries)
      for (const node of dir.entries.values()) {
        if (seen.has(node)) continue
        seen.add(node)
        if (node.kind === 'dir') visit(node)
        else this.#revert(node, rng)
      }
    }
    visit(this.#root)
  }

  /** The next sync (file or directory) of a path starting with `pathPrefix` fails with EIO; calls queue up. */
  failNextSync (pathPrefix: string): void {
    this.#syncFailures.push(pathPrefix)
  }

  /** While true, every write or truncation that grows a file fails with ENOSPC. */
  setFull (full: boolean): void {
    this.#full = full
  }

  /** While `failing`, reads of paths starting with `pathPrefix` fail with EIO. */
  failReads (pathPrefix: string, failing: boolean): void {
    if (failing) this.#readFailures.add(pathPrefix)
    else this.#readFailures.delete(pathPrefix)
  }

  /** Bit rot: inverts every bit of the byte at `position` of `path`, in its current and its durable bytes. */
  flipByte (path: string, position: number): void {
    const node = this.#lookup(normalize(path), 'open')
    if (node.kind !== 'file') throw simFsError('EISDIR', 'open', path)
    if (!Number.isSafeInteger(position) || position < 0 || position >= Math.max(node.current.size, node.durable.size)) {
      throw new RangeError(`position ${position} is outside ${path}`)
    }
    for (const bytes of [node.current, node.durable]) {
      if (position < bytes.size) bytes.bytes[position] = (bytes.bytes[position] as number) ^ 0xff
    }
  }

  /** Current bytes of all files reachable by name. */
  usedBytes (): number {
    let total = 0
    const seen = new Set<SimNode>()
    const visit = (dir: SimDir): void => {
      for (const node of dir.entries.values()) {
        if (seen.has(node)) continue
        seen.add(node)
        if (node.kind === 'dir') visit(node)
        else total += node.current.size
      }
    }
    visit(this.#root)
    return total
  }

  /**
   * Inspection for invariant checkers, synchronous and without faults: a directory's current entry names (sorted),
   * undefined when it does not exist.
   */
  peekDir (path: string): string[] | undefined {
    try {
      const node = this.#lookup(normalize(path), 'scandir')
      return node.kind === 'dir' ? [...node.entries.keys()].sort() : undefined
    } catch {
      return undefined
    }
  }

  /** A file's current bytes (a view, not a copy: read it before the next write), undefined when it does not exist. */
  peekFile (path: string): Uint8Array | undefined {
    try {
      const node = this.#lookup(normalize(path), 'open')
      return node.kind === 'file' ? node.current.bytes.subarray(0, node.current.size) : undefined
    } catch {
      return undefined
    }
  }

  // ---- FileSystem ----

  async open (path: string, flags: OpenFlags): Promise<FileHandle> {
    await this.#io()
    const normal = normalize(path)
    const { parent, name } = this.#parentOf(normal, 'open')
    let node = parent.entries.get(name)
    if (node !== undefined && flags === 'wx') throw simFsError('EEXIST', 'open', path)
    if (node === undefined) {
      if (flags === 'r' || flags === 'r+') throw simFsError('ENOENT', 'open', path)
      node = new SimFile()
      parent.entries.set(name, node)
    }
    if (node.kind === 'dir') throw simFsError('EISDIR', 'open', path)
    if (flags === 'w') this.#resize(node, 0, 'open', path)
    return new SimHandle(this, node, normal, flags, this.#generation)
  }

  async readFile (path: string): Promise<Buffer> {
    await this.#io()
    const normal = normalize(path)
    const node = this.#lookup(normal, 'open')
    if (node.kind === 'dir') throw simFsError('EISDIR', 'read', path)
    this.checkRead(normal)
    return Buffer.from(node.current.bytes.subarray(0, node.current.size))
  }

  async readdir (path: string): Promise<string[]> {
    await this.#io()
    const node = this.#lookup(normalize(path), 'scandir')
    if (node.kind !== 'dir') throw simFsError('ENOTDIR', 'scandir', path)
    return [...node.entries.keys()].sort()
  }

  async mkdir (path: string): Promise<string | undefined> {
    await this.#io()
    let dir = this.#root
    let at = ''
    let firstCreated: string | undefined
    for (const part of components(normalize(path))) {
      at = `${at}/${part}`
      const next = dir.entries.get(part)
      if (next === undefined) {
        const created = new SimDir()
        dir.entries.set(part, created)
        firstCreated ??= at
        dir = created
      } else if (next.kind === 'dir') {
        dir = next
      } else {
        throw simFsError(at === normalize(path) ? 'EEXIST' : 'ENOTDIR', 'mkdir', path)
      }
    }
    return firstCreated
  }

  async rename (from: string, to: string): Promise<void> {
    await this.#io()
    const source = this.#parentOf(normalize(from), 'rename')
    const node = source.parent.entries.get(source.name)
    if (node === undefined) throw simFsError('ENOENT', 'rename', from)
    const target = this.#parentOf(normalize(to), 'rename')
    const replaced = target.parent.entries.get(target.name)
    if (replaced === node) return
    if (replaced !== undefined && replaced.kind !== node.kind) throw simFsError(replaced.kind === 'dir' ? 'EISDIR' : 'ENOTDIR', 'rename', to)
    if (replaced?.kind === 'dir' && replaced.entries.size > 0) throw simFsError('EEXIST', 'rename', to)
    source.parent.entries.delete(source.name)
    target.parent.entries.set(target.name, node)
  }

  async unlink (path: string): Promise<void> {
    await this.#io()
    const { parent, name } = this.#parentOf(normalize(path), 'unlink')
    const node = parent.entries.get(name)
    if (node === undefined) throw simFsError('ENOENT', 'unlink', path)
    if (node.kind === 'dir') throw simFsError('EISDIR', 'unlink', path)
    parent.entries.delete(name)
  }

  async rm (path: string): Promise<void> {
    await this.#io()
    const normal = normalize(path)
    if (normal === '/') {
      this.#root.entries.clear()
      return
    }
    let found: { parent: SimDir; name: string }
    try {
      found = this.#parentOf(normal, 'rm')
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return
      throw error
    }
    found.parent.entries.delete(found.name)
  }

  async stat (path: string): Promise<FileStats> {
    await this.#io()
    return statsOf(this.#lookup(normalize(path), 'stat'))
  }

  async syncDirectory (path: string): Promise<void> {
    await this.#io()
    const normal = normalize(path)
    const node = this.#lookup(normal, 'open')
    if (node.kind !== 'dir') throw simFsError('ENOTDIR', 'open', path)
    this.checkSync(normal)
    node.durableEntries = new Map(node.entries)
  }

  // ---- for SimHandle ----

  /** @internal */
  async enterIo (): Promise<void> {
    await this.#io()
  }

  /** @internal */
  isCurrent (generation: number): boolean {
    return generation === this.#generation
  }

  /** @internal Throws EIO when reads of `path` are failing. */
  checkRead (path: string): void {
    for (const prefix of this.#readFailures) if (path.startsWith(prefix)) throw simFsError('EIO', 'read', path)
  }

  /** @internal Throws EIO (once) when a sync of `path` was told to fail. */
  checkSync (path: string): void {
    const i = this.#syncFailures.findIndex((prefix) => path.startsWith(prefix))
    if (i < 0) return
    this.#syncFailures.splice(i, 1)
    throw simFsError('EIO', 'fsync', path)
  }

  /** @internal Writes `data` at `position`, growing the file (zero-filled) if needed. */
  writeAt (file: SimFile, data: Uint8Array, position: number, path: string): void {
    const end = position + data.length
    if (end > file.current.size) this.#resize(file, end, 'write', path)
    file.current.bytes.set(data, position)
    file.dirtyFrom = Math.min(file.dirtyFrom, position)
  }

  /** @internal Sets the file's current size (ENOSPC if it grows while the disk is full). */
  resizeFile (file: SimFile, size: number, path: string): void {
    this.#resize(file, size, 'ftruncate', path)
  }

  /** @internal */
  syncFile (file: SimFile, path: string): void {
    this.checkSync(path)
    const from = Math.min(file.dirtyFrom, file.current.size, file.durable.size)
    ensureCapacity(file.durable, file.current.size)
    file.current.bytes.copy(file.durable.bytes, from, from, file.current.size)
    file.durable.size = file.current.size
    file.dirtyFrom = Infinity
  }

  // ---- internals ----

  async #io (): Promise<void> {
    if (this.#ioHook !== undefined) await this.#ioHook()
  }

  #resize (file: SimFile, size: number, syscall: Syscall, path: string): void {
    const growth = size - file.current.size
    if (growth > 0 && (this.#full || (this.#capacityBytes !== Infinity && this.usedBytes() + growth > this.#capacityBytes))) throw simFsError('ENOSPC', syscall, path)
    ensureCapacity(file.current, size)
    if (size !== file.current.size) file.dirtyFrom = Math.min(file.dirtyFrom, file.current.size, size)
    file.current.size = size
  }

  #revert (file: SimFile, rng: Rng | undefined): void {
    const durableSize = file.durable.size
    const appendedOnly = file.dirtyFrom >= durableSize && file.current.size > durableSize
    const kept = appendedOnly && rng !== undefined ? rng.int(0, file.current.size - durableSize + 1) : 0
    if (kept > 0) {
      ensureCapacity(file.durable, durableSize + kept)
      file.current.bytes.copy(file.durable.bytes, durableSize, durableSize, durableSize + kept)
      file.durable.size = durableSize + kept
    }
    file.current = copyBytes(file.durable)
    file.dirtyFrom = Infinity
  }

  #lookup (path: string, syscall: Syscall): SimNode {
    let node: SimNode = this.#root
    for (const part of components(path)) {
      if (node.kind !== 'dir') throw simFsError('ENOTDIR', syscall, path)
      const next: SimNode | undefined = node.entries.get(part)
      if (next === undefined) throw simFsError('ENOENT', syscall, path)
      node = next
    }
    return node
  }

  #parentOf (path: string, syscall: Syscall): { parent: SimDir; name: string } {
    if (path === '/') throw simFsError('EISDIR', syscall, path)
    const parent = this.#lookup(posix.dirname(path), syscall)
    if (parent.kind !== 'dir') throw simFsError('ENOTDIR', syscall, path)
    return { parent, name: posix.basename(path) }
  }
}

function statsOf (node: SimNode): FileStats {
  const size = node.kind === 'file' ? node.current.size : 0
  const directory = node.kind === 'dir'
  return { size, isDirectory: () => directory }
}

class SimHandle implements FileHandle {
  readonly #fs: SimFileSystem
  readonly #file: SimFile
  readonly #path: string
  readonly #flags: OpenFlags
  readonly #generation: number
  #closed = false

  constructor (fs: SimFileSystem, file: SimFile, path: string, flags: OpenFlags, generation: number) {
    this.#fs = fs
    this.#file = file
    this.#path = path
    this.#flags = flags
    this.#generation = generation
  }

  async read (buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    await this.#enter('read')
    if (this.#flags === 'w' || this.#flags === 'wx') throw simFsError('EBADF', 'read')
    this.#fs.checkRead(this.#path)
    if (offset < 0 || length < 0 || offset + length > buffer.length || position < 0) throw simFsError('EINVAL', 'read')
    const current = this.#file.current
    const bytesRead = Math.max(0, Math.min(length, current.size - position))
    if (bytesRead > 0) buffer.set(current.bytes.subarray(position, position + bytesRead), offset)
    return { bytesRead }
  }

  async write (buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }> {
    await this.#enter('write')
    if (offset < 0 || length < 0 || offset + length > buffer.length || position < 0) throw simFsError('EINVAL', 'write')
    this.#write(buffer.subarray(offset, offset + length), position)
    return { bytesWritten: length }
  }

  async writev (buffers: readonly Uint8Array[], position: number): Promise<{ bytesWritten: number }> {
    await this.#enter('write')
    if (position < 0) throw simFsError('EINVAL', 'write')
    const data = Buffer.concat(buffers)
    this.#write(data, position)
    return { bytesWritten: data.length }
  }

  async truncate (length: number): Promise<void> {
    await this.#enter('ftruncate')
    if (this.#flags === 'r') throw simFsError('EBADF', 'ftruncate')
    if (!Number.isSafeInteger(length) || length < 0) throw simFsError('EINVAL', 'ftruncate')
    this.#fs.resizeFile(this.#file, length, this.#path)
  }

  async sync (): Promise<void> {
    await this.#enter('fsync')
    this.#fs.syncFile(this.#file, this.#path)
  }

  async datasync (): Promise<void> {
    await this.#enter('fsync')
    this.#fs.syncFile(this.#file, this.#path)
  }

  async stat (): Promise<FileStats> {
    await this.#enter('fstat')
    return statsOf(this.#file)
  }

  async close (): Promise<void> {
    await this.#enter('close')
    this.#closed = true
  }

  async #enter (syscall: Syscall): Promise<void> {
    await this.#fs.enterIo()
    if (this.#closed || !this.#fs.isCurrent(this.#generation)) throw simFsError('EBADF', syscall)
  }

  #write (data: Uint8Array, position: number): void {
    if (this.#flags === 'r') throw simFsError('EBADF', 'write')
    // O_APPEND: Linux ignores the position and writes at the end.
    const at = this.#flags === 'a+' ? this.#file.current.size : position
    this.#fs.writeAt(this.#file, data, at, this.#path)
  }
}
