/**
 * `mkdir -p` that survives a power loss: every directory it creates is made durable in its parent (a new directory
 * entry, like a new file, is lost on a crash until its parent directory is fsynced). Found by the whole-cluster
 * simulation: a broker's first start created `logs/` without syncing its parent, so a power loss could take every
 * partition directory, acknowledged records included, with it.
 */
import { dirname } from 'node:path'
import type { FileSystem } from '../fs/file-system.js'

export async function mkdirDurable (fs: FileSystem, dir: string): Promise<void> {
  const created = await fs.mkdir(dir)
  if (created === undefined) return
  for (let child = dir; ; child = dirname(child)) {
    const parent = dirname(child)
    await fs.syncDirectory(parent)
    if (child === created || parent === child) return
  }
}
