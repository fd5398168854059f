/**
 * Replaces a file atomically and durably (ARCHITECTURE.md §2): write `<path>.tmp`, fdatasync it, rename it over
 * `<path>`, fsync the directory. A crash at any step leaves either the old or the new complete file; a stale `.tmp`
 * is overwritten by the next write (and, inside a partition directory, removed when the log next opens).
 *
 * Used by `CheckpointFile` and by the broker's producer-state snapshots. Errors are the file system's, unwrapped: the
 * caller decides whether a failed write takes something offline or is only logged.
 */
import { open, rename } from 'node:fs/promises'
import { dirname } from 'node:path'
import { fsyncDirectory } from './fsync-directory.js'

export async function replaceFile (path: string, data: string | Uint8Array): Promise<void> {
  const temporaryPath = `${path}.tmp`
  await writeDurably(temporaryPath, data)
  await rename(temporaryPath, path)
  await fsyncDirectory(dirname(path))
}

/** Writes `path` (created or truncated) and fdatasyncs it before resolving. */
export async function writeDurably (path: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(path, 'w')
  try {
    await handle.writeFile(data)
    await handle.datasync()
  } finally {
    await handle.close()
  }
}
