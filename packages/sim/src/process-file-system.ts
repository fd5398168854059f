/**
 * One broker incarnation's view of its simulated disk: the same `FileSystem`, with every answer delivered through the
 * incarnation's `SimProcess`, so a crashed incarnation's pending I/O never completes (its async chains stop, as a
 * killed process's do) and a paused one's completes only when it resumes. The disk itself (`SimFileSystem`) outlives
 * incarnations: a restart opens the same files.
 *
 * An fsync takes `syncLatencyMs()` of virtual time before it reaches the disk (a write only the disk's own latency): on
 * real disks fdatasync is the slow operation, and the time between a write and its sync is exactly when a crash loses
 * data that some code may already have reported as durable. A crash or pause during that wait stops or holds the sync
 * (the wait runs on the incarnation's timers).
 */
import type { FileHandle, FileSystem } from '@gregor/storage'
import type { SimProcess } from './sim-process.js'

export interface ProcessFileSystemOptions {
  /** Virtual time the next fsync takes before it reaches the disk (drawn per call). */
  readonly syncLatencyMs?: () => number
}

export function processFileSystem (fs: FileSystem, process: SimProcess, options: ProcessFileSystemOptions = {}): FileSystem {
  const beforeSync = async (): Promise<void> => {
    const delayMs = options.syncLatencyMs?.() ?? 0
    if (delayMs > 0) await process.timers.sleep(delayMs)
  }
  const wrapHandle = (handle: FileHandle): FileHandle => ({
    read: async (buffer, offset, length, position) => await process.io(() => handle.read(buffer, offset, length, position)),
    write: async (buffer, offset, length, position) => await process.io(() => handle.write(buffer, offset, length, position)),
    writev: async (buffers, position) => await process.io(() => handle.writev(buffers, position)),
    truncate: async (length) => { await process.io(() => handle.truncate(length)) },
    sync: async () => { await beforeSync(); await process.io(() => handle.sync()) },
    datasync: async () => { await beforeSync(); await process.io(() => handle.datasync()) },
    stat: async () => await process.io(() => handle.stat()),
    close: async () => { await process.io(() => handle.close()) },
  })
  return {
    open: async (path, flags) => wrapHandle(await process.io(() => fs.open(path, flags))),
    readFile: async (path) => await process.io(() => fs.readFile(path)),
    readdir: async (path) => await process.io(() => fs.readdir(path)),
    mkdir: async (path) => await process.io(() => fs.mkdir(path)),
    rename: async (from, to) => { await process.io(() => fs.rename(from, to)) },
    unlink: async (path) => { await process.io(() => fs.unlink(path)) },
    rm: async (path) => { await process.io(() => fs.rm(path)) },
    stat: async (path) => await process.io(() => fs.stat(path)),
    syncDirectory: async (path) => { await beforeSync(); await process.io(() => fs.syncDirectory(path)) },
  }
}
