/**
 * The health of the broker's log directory (Kafka's `LogDirFailureChannel`, with KIP-858's report to the controller).
 *
 * Owns: the offline flag and the failure that set it, the probe of the directory while it is offline, and the
 * listeners told of each change. Any I/O error in the directory (a failed write or fsync, a full disk, a read error)
 * takes the whole directory offline, as in Kafka: the error says the disk misbehaves, not that one file does, and a
 * replica that cannot trust its disk must neither lead nor count towards any high watermark. The broker then asks
 * the controller to fence it (`log_dir_offline` in its heartbeats), which moves its leaderships and ISR memberships
 * away.
 *
 * Recovery: every `probeIntervalMs` a small file is written, fdatasynced, removed and the directory fsynced. When that
 * works, the owner's `recover()` runs (the replica manager reopens every log from what is durable); only when that
 * succeeds too is the directory online again, and the broker may be unfenced and catch up as a follower.
 *
 * Invariants: offline from the first failure until a probe and a recovery have both succeeded after it; a failure
 * during recovery keeps it offline; one probe at a time; nothing runs after `close()`.
 */
import type { GregorError, Logger, TimerHandle, Timers } from '@gregor/common'
import { type FileSystem, writeDurably } from '@gregor/storage'

export interface LogDirHealthDeps {
  readonly dir: string
  readonly fs: FileSystem
  readonly timers: Timers
  readonly logger: Logger
  readonly probeIntervalMs: number
  /** Brings the directory's logs back from disk; throws if it cannot (the directory stays offline). */
  readonly recover: () => Promise<void>
}

const PROBE_FILE = '.gregor-probe'

export class LogDirHealth {
  readonly #deps: LogDirHealthDeps
  readonly #log: Logger
  readonly #listeners: ((offline: boolean) => void)[] = []
  #failure: GregorError | undefined
  /** Failures seen since the last recovery began: a recovery that saw one did not succeed. */
  #failureCount = 0
  #probe: TimerHandle | undefined
  #probing = false
  #closed = false

  constructor (deps: LogDirHealthDeps) {
    this.#deps = deps
    this.#log = deps.logger.child({ component: 'log-dir', dir: deps.dir })
  }

  get offline (): boolean { return this.#failure !== undefined }

  get failure (): GregorError | undefined { return this.#failure }

  /** I/O errors reported so far (each `fail` call, offline or not): a caller compares it across an operation. */
  get failureCount (): number { return this.#failureCount }

  onChange (listener: (offline: boolean) => void): void {
    this.#listeners.push(listener)
  }

  /** An I/O error in the directory: offline from now on, until a probe and a recovery succeed. */
  fail (error: GregorError): void {
    this.#failureCount++
    if (this.#closed || this.#failure !== undefined) return
    this.#failure = error
    this.#log.error({ err: error }, 'log directory offline')
    this.#schedule()
    this.#tell(true)
  }

  close (): void {
    this.#closed = true
    this.#probe?.cancel()
  }

  #schedule (): void {
    this.#probe?.cancel()
    this.#probe = this.#deps.timers.setTimeout(() => { void this.#tryRecover() }, this.#deps.probeIntervalMs)
  }

  async #tryRecover (): Promise<void> {
    if (this.#closed || this.#probing || this.#failure === undefined) return
    this.#probing = true
    try {
      await this.#writeProbe()
      const failuresBefore = this.#failureCount
      await this.#deps.recover()
      if (this.#failureCount !== failuresBefore) throw new Error('a log failed again during recovery')
      if (this.#closed) return
      this.#log.info({ failure: this.#failure?.message }, 'log directory back online')
      this.#failure = undefined
      this.#tell(false)
    } catch (error) {
      this.#log.warn({ err: error }, 'log directory still offline')
      if (!this.#closed) this.#schedule()
    } finally {
      this.#probing = false
    }
  }

  async #writeProbe (): Promise<void> {
    const { fs, dir } = this.#deps
    const path = `${dir}/${PROBE_FILE}`
    await writeDurably(fs, path, 'probe')
    await fs.unlink(path)
    await fs.syncDirectory(dir)
  }

  #tell (offline: boolean): void {
    for (const listener of this.#listeners) {
      try { listener(offline) } catch (error) { this.#log.warn({ err: error }, 'log directory listener failed') }
    }
  }
}
