/**
 * Replaces a file atomically and durably (ARCHITECTURE.md §2): write `<path>.tmp`, fdatasync it, rename it over
 * `<path>`, fsync the directory. A crash at any step leaves either the old or the new complete file; a stale `.tmp`
 * is overwritten by the next write (and, inside a partition directory, removed when the log next opens).
 *
 * Used by `CheckpointFile` and by the broker's producer-state snapshots. Errors are the file system's, unwrapped: the
 * caller decides whether a failed write takes something offline or is only logged.
 */
import { dirname } from 'node:path'
import type { FileSystem } from '../fs/file-system.js'
import { fsyncDirectory } from './fsync-directory.js'
import { storageError } from './storage-error.js'

export async function replaceFile (fs: FileSystem, path: string, data: string | Uint8Array): Promise<void> {
  const temporaryPath = `${path}.tmp`
  await writeDurably(fs, temporaryPath, data)
  await fs.rename(temporaryPath, path)
  await fsyncDirectory(fs, dirname(path))
}

/** Writes `path` (created or truncated) and fdatasyncs it before resolving. */
export async function writeDurably (fs: FileSystem, path: string, data: string | Uint8Array): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
  const handle = await fs.open(path, 'w')
  try {
    let written = 0
    while (written < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, written)
      if (bytesWritten <= 0) throw storageError('write made no progress', { details: { path, position: written } })
      written += bytesWritten
    }
    await handle.datasync()
  } finally {
    await handle.close()
  }
}
