/**
 * Removes a file that may already be gone (a crash between the steps of a deletion, a cleanup that runs twice):
 * ENOENT is success, any other error is the file system's, unwrapped.
 */
import type { FileSystem } from '../fs/file-system.js'
import { hasErrno } from './storage-error.js'

export async function unlinkIfPresent (fs: FileSystem, path: string): Promise<void> {
  try {
    await fs.unlink(path)
  } catch (error) {
    if (!hasErrno(error, 'ENOENT')) throw error
  }
}
