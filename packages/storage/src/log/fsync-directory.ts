/**
 * Makes directory entries durable: after creating, renaming or unlinking a file, the name change is only on disk once
 * the directory itself is fsynced (ext4/xfs semantics; POSIX leaves it to the file system).
 */
import { open } from 'node:fs/promises'

export async function fsyncDirectory (dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
