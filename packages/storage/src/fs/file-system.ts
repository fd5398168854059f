/**
 * The file system as a dependency: every file the partition log, its checkpoints, the log cleaner and the broker's
 * producer snapshots touch goes through this interface, so production wires `nodeFileSystem` (node:fs/promises)
 * and the whole-cluster simulation wires a simulated disk that can lose unsynced writes, fail an fsync, run out of
 * space, fail a read or flip a byte.
 *
 * The shapes are the subset of node:fs/promises the log uses, with the same semantics: errors are Node-style
 * (`code` = 'ENOENT', 'EEXIST', 'ENOSPC', 'EIO', ...), positions are explicit, and a write is durable only after
 * `sync()`/`datasync()` on its handle (and a rename or create only after `syncDirectory` on its directory).
 */
export interface FileStats {
  readonly size: number
  isDirectory (): boolean
}

export interface FileHandle {
  read (buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>
  write (buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>
  /** Writes the buffers back to back starting at `position` (one syscall in production). */
  writev (buffers: readonly Uint8Array[], position: number): Promise<{ bytesWritten: number }>
  truncate (length: number): Promise<void>
  sync (): Promise<void>
  datasync (): Promise<void>
  stat (): Promise<FileStats>
  close (): Promise<void>
}

/** 'r' read-only; 'r+' read-write, must exist; 'w' create or truncate; 'wx' create, fail if it exists; 'a+' append-or-create. */
export type OpenFlags = 'r' | 'r+' | 'w' | 'wx' | 'a+'

export interface FileSystem {
  open (path: string, flags: OpenFlags): Promise<FileHandle>
  readFile (path: string): Promise<Buffer>
  readdir (path: string): Promise<string[]>
  /** Like `mkdir(path, { recursive: true })`: returns the first directory created, undefined if it existed. */
  mkdir (path: string): Promise<string | undefined>
  rename (from: string, to: string): Promise<void>
  unlink (path: string): Promise<void>
  /** Like `rm(path, { recursive: true, force: true })`. */
  rm (path: string): Promise<void>
  stat (path: string): Promise<FileStats>
  /** Makes the directory's entries (creates, renames, unlinks) durable. */
  syncDirectory (path: string): Promise<void>
}
