/**
 * A small text file of entries that is replaced atomically: the partition's `leader-epoch-checkpoint` and the
 * broker-level offset checkpoints (`recovery-point-offset-checkpoint`, `replication-offset-checkpoint`).
 *
 * On-disk format (Kafka's CheckpointFile): a version line, a count line, then one line per entry, each ending in
 * '\n'. Entry lines are produced and parsed by a `CheckpointFormat`.
 *
 * Write protocol (`replaceFile`): write `<path>.tmp`, fdatasync it, rename it over `<path>`, fsync the directory. A
 * crash at any step leaves either the old or the new complete file (a stale `.tmp` is overwritten by the next
 * write). Writes to one `CheckpointFile` are serialized; `read` validates the version, the count and every line and
 * throws KAFKA_STORAGE_ERROR on a malformed file, so callers choose their conservative fallback explicitly.
 */
import type { FileSystem } from '../fs/file-system.js'
import { replaceFile } from './replace-file.js'
import { errnoDetails, hasErrno, storageError } from './storage-error.js'

export interface CheckpointFormat<T> {
  readonly version: number
  /** One line without its newline. */
  format (entry: T): string
  /** The entry, or undefined when the line is malformed. */
  parse (line: string): T | undefined
}

export class CheckpointFile<T> {
  readonly path: string
  readonly #fs: FileSystem
  readonly #format: CheckpointFormat<T>
  #writing: Promise<void> = Promise.resolve()

  constructor (fs: FileSystem, path: string, format: CheckpointFormat<T>) {
    this.#fs = fs
    this.path = path
    this.#format = format
  }

  /** Atomically replaces the file with `entries`; resolves once the new file and its name are durable. */
  write (entries: readonly T[]): Promise<void> {
    const text = [String(this.#format.version), String(entries.length), ...entries.map((e) => this.#format.format(e))]
      .map((line) => `${line}\n`).join('')
    const next = this.#writing.catch(() => {}).then(async () => await this.#replace(text))
    this.#writing = next
    return next
  }

  /** The entries, or undefined when the file does not exist. Throws KAFKA_STORAGE_ERROR when it is malformed. */
  async read (): Promise<T[] | undefined> {
    let text: string
    try {
      text = (await this.#fs.readFile(this.path)).toString('utf8')
    } catch (error) {
      if (hasErrno(error, 'ENOENT')) return undefined
      throw storageError('checkpoint file unreadable', { cause: error, details: { path: this.path, ...errnoDetails(error) } })
    }
    return this.#parse(text)
  }

  async #replace (text: string): Promise<void> {
    try {
      await replaceFile(this.#fs, this.path, text)
    } catch (error) {
      throw storageError('checkpoint write failed', { cause: error, details: { path: this.path, ...errnoDetails(error) } })
    }
  }

  #parse (text: string): T[] {
    const malformed = (reason: string): Error => storageError('malformed checkpoint file', { details: { path: this.path, reason } })
    if (!text.endsWith('\n')) throw malformed('missing final newline')
    const lines = text.slice(0, -1).split('\n')
    const [versionLine, countLine, ...entryLines] = lines
    if (versionLine !== String(this.#format.version)) throw malformed(`unexpected version line ${JSON.stringify(versionLine)}`)
    if (countLine === undefined || !/^\d+$/.test(countLine) || Number(countLine) !== entryLines.length) {
      throw malformed(`count line ${JSON.stringify(countLine)} does not match ${entryLines.length} entries`)
    }
    return entryLines.map((line, i) => {
      const entry = this.#format.parse(line)
      if (entry === undefined) throw malformed(`line ${i + 3} is malformed`)
      return entry
    })
  }
}
