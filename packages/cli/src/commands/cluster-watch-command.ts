/**
 * `gregor cluster watch`: the cluster's quorum, brokers and partitions, polled every `--interval-ms` (default
 * 1000), with a timestamped line per change ("broker 2 fenced", "orders-0 leader 2→3 epoch 5").
 *
 * Three outputs: a terminal gets the view redrawn in place (ANSI: home, clear each line, clear below; cursor hidden
 * while it runs), a pipe gets the table and the new events once per change, and `--json` prints one `ClusterUpdate`
 * per change (docs/cluster-view.md), or `{ timeMs, error }` once when no broker answers.
 *
 * Failover: every request has a deadline of about one interval (500 ms to 2 s) and the Admin moves on to the next
 * bootstrap or known broker when one fails in transport, then prefers the one that answered; so a dead broker
 * costs at most one deadline per poll, and only the first poll after it died. Events are diffs between successive
 * successful polls, so a poll that fails loses no event. SIGINT and SIGTERM stop it with exit code 0.
 */
import { Admin } from '@gregor/client'
import {
  type ClusterEventEntry, type ClusterUpdate, type ClusterView, clusterUpdate, clusterViewsEqual, diffClusterViews,
} from '@gregor/metadata'
import { UsageError, bootstrapOption, bootstrapServers, integerFlag, parseCommandArgs, tlsOption } from './client-args.js'
import { clientClusterView } from './client-cluster-view.js'
import { clockTime, clusterTable, eventLines } from './cluster-table.js'

/** Events the terminal view keeps (it shows the newest that fit the screen). */
const eventLogMax = 200
const intervalMsDefault = 1_000
const intervalMsMin = 100

type Output = 'terminal' | 'table' | 'json'

export async function clusterWatchCommand (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { ...bootstrapOption, json: { type: 'boolean' }, 'interval-ms': { type: 'string' } })
  const problems: string[] = []
  const intervalMs = integerFlag('interval-ms', values['interval-ms'], problems, intervalMsMin) ?? intervalMsDefault
  if (problems.length > 0) throw new UsageError(problems)
  const servers = bootstrapServers(values['bootstrap-server'])
  const output: Output = values.json === true ? 'json' : process.stdout.isTTY ? 'terminal' : 'table'
  const requestTimeoutMs = Math.min(Math.max(intervalMs, 500), 2_000)
  const admin = new Admin({ bootstrapServers: servers, requestTimeoutMs, ...tlsOption() })
  const stop = stopSignal()
  // Stopping cancels the poll in flight too: Ctrl-C never waits out a request deadline.
  void stop.promise.then(() => { admin.close() })
  const screen = new WatchScreen(output, intervalMs, servers.join(','), stop.promise)
  try {
    await screen.start()
    let previous: ClusterView | undefined
    while (!stop.stopped) {
      const startedMs = Date.now()
      try {
        const view = await clientClusterView(admin, Date.now)
        const update = clusterUpdate(view, previous === undefined ? [] : diffClusterViews(previous, view))
        previous = view
        await screen.showUpdate(update)
      } catch (error) {
        if (stop.stopped) break
        await screen.showFailure(Date.now(), error instanceof Error ? error.message : String(error))
      }
      await stop.sleep(startedMs + intervalMs - Date.now())
    }
    return 0
  } finally {
    stop.dispose()
    admin.close()
    await screen.end()
  }
}

/** Everything about presenting updates: what to print, when, and how (terminal, table or JSON lines). */
class WatchScreen {
  readonly #output: Output
  readonly #intervalMs: number
  readonly #servers: string
  readonly #stopped: Promise<void>
  readonly #colour: boolean
  readonly #eventLog: ClusterEventEntry[] = []
  #printed: ClusterView | undefined
  #view: ClusterView | undefined
  #failure: string | undefined

  constructor (output: Output, intervalMs: number, servers: string, stopped: Promise<void>) {
    this.#output = output
    this.#intervalMs = intervalMs
    this.#servers = servers
    this.#stopped = stopped
    this.#colour = output === 'terminal' && process.env.NO_COLOR === undefined
  }

  async start (): Promise<void> {
    // Hide the cursor and clear once; later frames only overwrite.
    if (this.#output === 'terminal') await this.#write('\u001b[?25l\u001b[2J\u001b[H')
  }

  async showUpdate (update: ClusterUpdate): Promise<void> {
    const recovered = this.#failure !== undefined
    this.#failure = undefined
    this.#view = update
    this.#eventLog.push(...update.events)
    this.#eventLog.splice(0, Math.max(0, this.#eventLog.length - eventLogMax))
    if (this.#output === 'terminal') return await this.#redraw()
    // Pipes and --json print once per change (a moving high watermark is a change, but no event).
    const changed = this.#printed === undefined || recovered || !clusterViewsEqual(this.#printed, update)
    if (!changed) return
    this.#printed = update
    if (this.#output === 'json') return await this.#write(`${JSON.stringify(update)}\n`)
    const table = clusterTable(update, { colour: false })
    const events = update.events.length === 0 ? [] : ['', ...eventLines(update.events, { colour: false })]
    await this.#write(`${[`${clockTime(update.timeMs)}`, ...table, ...events].join('\n')}\n\n`)
  }

  async showFailure (timeMs: number, message: string): Promise<void> {
    const repeated = this.#failure === message
    this.#failure = message
    if (this.#output === 'terminal') return await this.#redraw()
    if (repeated) return
    if (this.#output === 'json') return await this.#write(`${JSON.stringify({ timeMs, error: message })}\n`)
    await this.#write(`${clockTime(timeMs)}  no broker answered: ${message}\n\n`)
  }

  async end (): Promise<void> {
    if (this.#output === 'terminal') await this.#write('\u001b[?25h\n')
  }

  async #redraw (): Promise<void> {
    if (this.#output !== 'terminal') return
    const colour = { colour: this.#colour }
    const seen = this.#view === undefined ? '' : `   ${clockTime(this.#view.timeMs).slice(0, 8)}`
    const title = `gregor cluster watch   ${this.#servers}   every ${this.#intervalMs} ms${seen}   Ctrl-C quits`
    const lines = [this.#colour ? `\u001b[2m${title}\u001b[0m` : title]
    if (this.#failure !== undefined) {
      const text = `no broker answered (${this.#failure}); retrying`
      lines.push(this.#colour ? `\u001b[31m${text}\u001b[0m` : text)
    }
    lines.push('')
    if (this.#view === undefined) lines.push('connecting…')
    else lines.push(...clusterTable(this.#view, colour))
    lines.push('', this.#colour ? '\u001b[1mevents\u001b[0m' : 'events')
    const room = Math.max(3, (process.stdout.rows ?? 24) - lines.length - 1)
    const shown = this.#eventLog.slice(-room)
    lines.push(...(shown.length === 0 ? ['none yet'] : eventLines(shown, colour)))
    // Home, then every line cleared to its end and everything below cleared: a redraw without flicker.
    await this.#write(`\u001b[H${lines.map((line) => `${line}\u001b[K`).join('\n')}\u001b[J`)
  }

  /** Writes respecting backpressure; gives up waiting for 'drain' once stopped (a closed pipe never drains). */
  async #write (text: string): Promise<void> {
    if (process.stdout.write(text)) return
    await Promise.race([new Promise<void>((resolve) => process.stdout.once('drain', resolve)), this.#stopped])
  }
}

interface StopSignal {
  readonly promise: Promise<void>
  readonly stopped: boolean
  /** Waits `delayMs` or until stopped, whichever comes first. */
  sleep: (delayMs: number) => Promise<void>
  dispose: () => void
}

/** SIGINT, SIGTERM and a broken stdout (`watch | head`) all stop the watch. */
function stopSignal (): StopSignal {
  let stopped = false
  let resolveStop: () => void = () => {}
  const promise = new Promise<void>((resolve) => { resolveStop = resolve })
  const onStop = (): void => { stopped = true; resolveStop() }
  process.on('SIGINT', onStop)
  process.on('SIGTERM', onStop)
  process.stdout.on('error', onStop)
  return {
    promise,
    get stopped () { return stopped },
    sleep: async (delayMs) => {
      if (stopped || delayMs <= 0) return
      let timer: NodeJS.Timeout | undefined
      await Promise.race([promise, new Promise<void>((resolve) => { timer = setTimeout(resolve, delayMs) })])
      clearTimeout(timer)
    },
    dispose: () => {
      process.off('SIGINT', onStop)
      process.off('SIGTERM', onStop)
      process.stdout.off('error', onStop)
    },
  }
}
