/**
 * The production `FileSystem`: node:fs/promises, unchanged. Node's own `FileHandle` already has the shape of ours
 * (positional read/write/writev, truncate, sync, datasync, stat, close), so handles are passed through as they are.
 *
 * `syncDirectory` opens the directory read-only and fsyncs it: on Linux (ext4, xfs) that is what makes creates,
 * renames and unlinks in it durable.
 */
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises'
import type { FileHandle, FileSystem } from './file-system.js'

export const nodeFileSystem: FileSystem = {
  open: async (path, flags): Promise<FileHandle> => await open(path, flags),
  readFile: async (path) => await readFile(path),
  readdir: async (path) => await readdir(path),
  mkdir: async (path) => await mkdir(path, { recursive: true }),
  rename: async (from, to) => { await rename(from, to) },
  unlink: async (path) => { await unlink(path) },
  rm: async (path) => { await rm(path, { recursive: true, force: true }) },
  stat: async (path) => await stat(path),
  syncDirectory: async (path) => {
    const handle = await open(path, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  },
}
