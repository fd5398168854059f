/**
 * The topic id a partition directory belongs to (Kafka's `partition.metadata`, KIP-516): a topic deleted and
 * re-created under the same name gets the same directory name, `<topic>-<partition>`, but is another topic. A broker
 * that was down while that happened finds the old incarnation's directory and must not take it as the new topic's
 * history (its batches start at leader epoch 0 as the new ones do, so nothing else would tell them apart).
 *
 * Owns: the file `partition.metadata` of each partition directory, in Kafka's text format (`version: 0`,
 * `topic_id: <id>`), and the claim of a directory for a topic id when a replica opens (`claim`):
 * - the file names the same id: nothing to do;
 * - it names another id: the directory is deleted first (renamed aside atomically, then removed) and starts empty;
 * - there is no file (a new directory, or one written by an older build, which is adopted): the file is written.
 *
 * Invariants:
 * - The file is written durably (`replaceFile`: temp file, fdatasync, rename, directory fsync) before the claim
 *   resolves, so before the log opens and anything is appended: a directory with data and no file can only come from
 *   a build older than this module.
 * - A directory of another id never comes back after a crash: it is renamed to `<dir>.delete` and that rename is made
 *   durable before anything of the new incarnation is written; a leftover `<dir>.delete` is removed on the next claim.
 *   (A recursive delete in place is not atomic: a crash in the middle could leave old segments without this file.)
 * - A file that cannot be read (other than missing) or does not parse is a storage error (KAFKA_STORAGE_ERROR), as
 *   in Kafka: a directory whose incarnation cannot be told is neither trusted nor deleted.
 * Every file operation goes through the injected `FileSystem` (the simulated disk in the whole-cluster simulation).
 */
import { dirname, join } from 'node:path'
import { ErrorCode, GregorError, isGregorError } from '@gregor/common'
import { type FileSystem, hasErrno, mkdirDurable, replaceFile, topicPartitionKey } from '@gregor/storage'

export const PARTITION_METADATA_FILE = 'partition.metadata'
const FORMAT_VERSION = 0

/** What `claim` found: a new directory, one of an older build (adopted), the same id, or another id (deleted). */
export type PartitionDirClaim =
  | { readonly outcome: 'created' }
  | { readonly outcome: 'adopted' }
  | { readonly outcome: 'matched' }
  | { readonly outcome: 'replaced'; readonly previousTopicId: string }

export class PartitionMetadataFile {
  /** The partition directory. */
  readonly dir: string
  readonly path: string
  readonly #fs: FileSystem

  constructor (fs: FileSystem, dir: string) {
    this.#fs = fs
    this.dir = dir
    this.path = join(dir, PARTITION_METADATA_FILE)
  }

  /** The file of partition `partition` of `topic` in the log directory `logDir` (where `PartitionLog` puts it). */
  static of (fs: FileSystem, logDir: string, topic: string, partition: number): PartitionMetadataFile {
    return new PartitionMetadataFile(fs, join(logDir, topicPartitionKey(topic, partition)))
  }

  /** The topic id the directory belongs to; undefined when there is no file (or no directory). */
  async read (): Promise<string | undefined> {
    let text: string
    try {
      text = (await this.#fs.readFile(this.path)).toString('utf8')
    } catch (error) {
      if (hasErrno(error, 'ENOENT') || hasErrno(error, 'ENOTDIR')) return undefined
      throw storageError('partition metadata unreadable', this.path, error)
    }
    const fields = new Map(text.split('\n').filter((line) => line !== '').map((line) => {
      const colon = line.indexOf(':')
      return [line.slice(0, colon).trim(), colon < 0 ? '' : line.slice(colon + 1).trim()] as const
    }))
    const topicId = fields.get('topic_id') ?? ''
    if (fields.get('version') !== String(FORMAT_VERSION) || topicId === '') {
      throw storageError('partition metadata malformed', this.path, undefined)
    }
    return topicId
  }

  /** Writes `topicId` durably (the directory must exist). */
  async write (topicId: string): Promise<void> {
    try {
      await replaceFile(this.#fs, this.path, `version: ${FORMAT_VERSION}\ntopic_id: ${topicId}\n`)
    } catch (error) {
      throw storageError('partition metadata write failed', this.path, error)
    }
  }

  /**
   * Makes the directory `topicId`'s before its log opens: deletes it first when it belongs to another topic id,
   * creates it if needed, and writes the file unless it already names `topicId`.
   */
  async claim (topicId: string): Promise<PartitionDirClaim> {
    if (topicId === '') throw new RangeError('a partition directory is claimed for a non-empty topic id')
    // What a crash between the rename and the removal below left behind (a no-op otherwise).
    await this.#fs.rm(deletedDirOf(this.dir))
    const stored = await this.read()
    if (stored === topicId) return { outcome: 'matched' }
    let claim: PartitionDirClaim
    if (stored !== undefined) {
      await deletePartitionDir(this.#fs, this.dir)
      claim = { outcome: 'replaced', previousTopicId: stored }
    } else {
      claim = { outcome: await exists(this.#fs, this.dir) ? 'adopted' : 'created' }
    }
    try {
      await mkdirDurable(this.#fs, this.dir)
    } catch (error) {
      throw storageError('partition directory not created', this.dir, error)
    }
    await this.write(topicId)
    return claim
  }
}

/**
 * Deletes a partition directory so that a crash cannot bring part of it back: renamed to `<dir>.delete` (atomic,
 * made durable by the parent's fsync), then removed. A missing directory is fine.
 */
export async function deletePartitionDir (fs: FileSystem, dir: string): Promise<void> {
  const deleted = deletedDirOf(dir)
  try {
    await fs.rm(deleted)
    try {
      await fs.rename(dir, deleted)
    } catch (error) {
      if (hasErrno(error, 'ENOENT')) return
      throw error
    }
    await fs.syncDirectory(dirname(dir))
    await fs.rm(deleted)
  } catch (error) {
    throw storageError('partition directory not deleted', dir, error)
  }
}

/** Where a directory being deleted lives meanwhile; never a partition directory's name (those end in digits). */
function deletedDirOf (dir: string): string {
  return `${dir}.delete`
}

async function exists (fs: FileSystem, path: string): Promise<boolean> {
  try {
    await fs.stat(path)
    return true
  } catch (error) {
    if (hasErrno(error, 'ENOENT')) return false
    throw storageError('partition directory unreadable', path, error)
  }
}

function storageError (message: string, path: string, cause: unknown): GregorError {
  if (isGregorError(cause)) return cause
  const errno = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined
  return new GregorError(ErrorCode.KAFKA_STORAGE_ERROR, message, {
    ...(cause === undefined ? {} : { cause }),
    details: { path, ...(typeof errno === 'string' ? { errno } : {}) },
  })
}
