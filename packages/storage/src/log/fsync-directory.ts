/**
 * Makes directory entries durable: after creating, renaming or unlinking a file, the name change is only on disk once
 * the directory itself is fsynced (ext4/xfs semantics; POSIX leaves it to the file system).
 */
import type { FileSystem } from '../fs/file-system.js'

export async function fsyncDirectory (fs: FileSystem, dir: string): Promise<void> {
  await fs.syncDirectory(dir)
}
