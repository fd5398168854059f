/**
 * A per-log-directory map from topic-partition to offset, kept in one checkpoint file, as Kafka keeps the recovery
 * points (`recovery-point-offset-checkpoint`), the high watermarks (`replication-offset-checkpoint`) and the log start
 * offsets (`log-start-offset-checkpoint`) of all partitions in a log directory.
 *
 * Owns: the file's format, not the offsets: the broker collects them from its logs (`PartitionLog.recoveryPoint`,
 * its own high watermarks) and writes the whole map periodically and at shutdown; it reads it once at startup and
 * passes each partition's value to `PartitionLog.open`.
 *
 * On-disk format (Kafka's): `0\n<count>\n` then `<topic> <partition> <offset>\n` per entry, written atomically by
 * `CheckpointFile` (temp file, fsync, rename, fsync directory). Topic names never contain whitespace.
 */
import { join } from 'node:path'
import type { FileSystem } from '../fs/file-system.js'
import { CheckpointFile, type CheckpointFormat } from './checkpoint-file.js'

export const RECOVERY_POINT_CHECKPOINT_FILE = 'recovery-point-offset-checkpoint'
export const REPLICATION_OFFSET_CHECKPOINT_FILE = 'replication-offset-checkpoint'
export const LOG_START_OFFSET_CHECKPOINT_FILE = 'log-start-offset-checkpoint'

export interface TopicPartitionOffset {
  readonly topic: string
  readonly partition: number
  readonly offset: number
}

/** The map key of a partition: the same `<topic>-<partition>` string as its directory name. */
export function topicPartitionKey (topic: string, partition: number): string {
  return `${topic}-${partition}`
}

const format: CheckpointFormat<TopicPartitionOffset> = {
  version: 0,
  format: (entry) => `${entry.topic} ${entry.partition} ${entry.offset}`,
  parse: (line) => {
    const match = /^(\S+) (\d+) (\d+)$/.exec(line)
    if (match === null) return undefined
    const partition = Number(match[2])
    const offset = Number(match[3])
    if (!Number.isSafeInteger(partition) || !Number.isSafeInteger(offset)) return undefined
    return { topic: match[1] as string, partition, offset }
  },
}

export class OffsetCheckpoints {
  readonly #file: CheckpointFile<TopicPartitionOffset>

  /** `fileName` is one of the *_CHECKPOINT_FILE names; the file lives directly in the log directory `logDir`. */
  constructor (options: { logDir: string; fileName: string; fs: FileSystem }) {
    this.#file = new CheckpointFile(options.fs, join(options.logDir, options.fileName), format)
  }

  get path (): string {
    return this.#file.path
  }

  /** Replaces the file with exactly `entries` (partitions not listed are dropped from it). */
  async write (entries: Iterable<TopicPartitionOffset>): Promise<void> {
    const list = [...entries]
    for (const entry of list) {
      if (/\s/.test(entry.topic) || entry.topic.length === 0) throw new RangeError(`invalid topic name ${JSON.stringify(entry.topic)}`)
      if (!Number.isSafeInteger(entry.partition) || entry.partition < 0) throw new RangeError(`invalid partition ${entry.partition}`)
      if (!Number.isSafeInteger(entry.offset) || entry.offset < 0) throw new RangeError(`invalid offset ${entry.offset}`)
    }
    await this.#file.write(list)
  }

  /**
   * The offsets keyed by `topicPartitionKey`; empty when the file does not exist. A malformed file throws
   * KAFKA_STORAGE_ERROR: the broker decides the fallback (for recovery points, an empty map is the conservative
   * one, since every log is then scanned in full).
   */
  async read (): Promise<Map<string, number>> {
    const entries = (await this.#file.read()) ?? []
    return new Map(entries.map((e) => [topicPartitionKey(e.topic, e.partition), e.offset]))
  }
}
