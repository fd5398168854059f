/**
 * `clusterTable`: a `ClusterView` as the lines `gregor cluster watch` prints: a header (cluster, controller, raft
 * term and commit index), one line of brokers, then one row per partition with aligned columns, and the event log
 * lines (`eventLines`).
 *
 * Colour is optional (a terminal gets it, a pipe does not) and only ever repeats what the text already says: the
 * STATUS column spells out `offline` and `under-replicated`, brokers say `fenced`. Cells are padded before they are
 * coloured, so escape codes never break the alignment.
 */
import {
  type BrokerState, type ClusterEventEntry, type ClusterView, type PartitionStatus, partitionStatus,
} from '@gregor/metadata'

export interface TableOptions {
  readonly colour: boolean
}

type Paint = (text: string) => string

const ansi = (code: string): Paint => (text) => `\u001b[${code}m${text}\u001b[0m`
const plain: Paint = (text) => text

function palette (colour: boolean): Record<'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan', Paint> {
  if (!colour) return { bold: plain, dim: plain, red: plain, green: plain, yellow: plain, cyan: plain }
  return { bold: ansi('1'), dim: ansi('2'), red: ansi('31'), green: ansi('32'), yellow: ansi('33'), cyan: ansi('36') }
}

/** The view as lines (no trailing newline on any). */
export function clusterTable (view: ClusterView, options: TableOptions): string[] {
  const paint = palette(options.colour)
  const none = (id: number): string => (id < 0 ? paint.red('none') : String(id))
  const lines: string[] = []
  const commit = view.quorum.commitIndex === null ? '' : `   ${paint.dim('commit index')} ${view.quorum.commitIndex}`
  lines.push(`${paint.bold(view.clusterId)}   ${paint.dim('controller')} ${none(view.controllerId)}   ` +
    `${paint.dim('term')} ${view.quorum.term}${commit}`)
  const brokerColour: Record<BrokerState, Paint> = { alive: paint.green, fenced: paint.red, 'shutting-down': paint.yellow }
  const brokers = view.brokers.map((broker) => brokerColour[broker.state](`● ${broker.brokerId} ${broker.state}`))
  lines.push(`${paint.dim('brokers')}      ${brokers.length === 0 ? paint.dim('none registered') : brokers.join('   ')}`)
  lines.push('')
  if (view.partitions.length === 0) {
    lines.push(paint.dim('no topics'))
    return lines
  }

  const header = ['TOPIC', 'PARTITION', 'LEADER', 'LEADER EPOCH', 'REPLICAS', 'ISR', 'HIGH WATERMARK', 'STATUS']
  const rightAligned = new Set([1, 2, 3, 6])
  const rows = view.partitions.map((p) => {
    const status = partitionStatus(p)
    return {
      status,
      cells: [
        p.topic, String(p.partition), p.leader < 0 ? 'none' : String(p.leader), String(p.leaderEpoch), p.replicas.join(','),
        p.isr.join(','), p.highWatermark === null ? '-' : String(p.highWatermark), status === 'ok' ? '' : status,
      ],
    }
  })
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row.cells[column]?.length ?? 0)))
  const pad = (cell: string, column: number): string =>
    rightAligned.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)
  lines.push(paint.dim(header.map(pad).join('  ').trimEnd()))
  const statusColour: Record<PartitionStatus, Paint> = { ok: plain, offline: paint.red, 'under-replicated': paint.yellow }
  for (const row of rows) {
    const cells = row.cells.map(pad)
    // Colour what is wrong: the missing leader of an offline partition, the short ISR of an under-replicated one.
    const painted = cells.map((cell, column) => {
      if (column === 7 || (row.status === 'offline' && column === 2) || (row.status === 'under-replicated' && column === 5)) {
        return statusColour[row.status](cell)
      }
      return cell
    })
    lines.push(painted.join('  ').trimEnd())
  }
  return lines
}

/** One line per event: local time with milliseconds, then the event text. */
export function eventLines (events: readonly ClusterEventEntry[], options: TableOptions): string[] {
  const paint = palette(options.colour)
  return events.map((event) => `${paint.dim(clockTime(event.timeMs))}  ${eventColour(event, paint)(event.text)}`)
}

function eventColour (event: ClusterEventEntry, paint: ReturnType<typeof palette>): Paint {
  if (event.kind === 'broker') return event.next === 'alive' ? paint.green : event.next === 'fenced' ? paint.red : paint.yellow
  if (event.kind === 'leader' && event.next < 0) return paint.red
  if (event.kind === 'controller' || event.kind === 'term') return paint.cyan
  return plain
}

/** `HH:MM:SS.mmm` in local time. */
export function clockTime (timeMs: number): string {
  const date = new Date(timeMs)
  const two = (n: number): string => String(n).padStart(2, '0')
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`
}
