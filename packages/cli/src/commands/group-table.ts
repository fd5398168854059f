/**
 * The tables of `gregor groups`, in the shape `kafka-consumer-groups.sh` prints them: upper-case headers, left-aligned
 * columns separated by one space, each column at least as wide as Kafka's format string makes it (15 for most, 10
 * for PARTITION) and wider when a cell is longer, the last column unpadded, and '-' for a missing value. Lines carry
 * no trailing spaces; Kafka's leading blank line is left out.
 *
 * Also the one JSON document of `groups describe --json` (`describeDocument`).
 *
 * Pure: descriptions in, lines out, so the layout is unit-tested without a cluster. States and group types are
 * shown as Kafka spells them (`Stable`, `Consumer`), whatever case the wire uses, in the tables and the JSON alike.
 */
import type { GroupDescription, GroupLagRow, GroupMemberDescription, ListedGroup, OffsetResetPlanRow } from '@gregor/client'

/** Kafka's placeholder for a value that is not there (nothing committed, no owning member). */
export const MISSING = '-'

export interface Column {
  readonly title: string
  /** Kafka's minimum width for the column (its `%-15s`). */
  readonly minWidth: number
}

/** Rows under a header: every column but the last padded to its width, one space between columns. */
export function alignedTable (columns: readonly Column[], rows: readonly (readonly string[])[]): string[] {
  const widths = columns.map((column, index) =>
    Math.max(column.minWidth, column.title.length, ...rows.map((row) => (row[index] ?? '').length)))
  const line = (cells: readonly string[]): string =>
    columns.map((_, index) => {
      const cell = cells[index] ?? ''
      return index === columns.length - 1 ? cell : cell.padEnd(widths[index] ?? 0)
    }).join(' ').trimEnd()
  return [line(columns.map((column) => column.title)), ...rows.map(line)]
}

/** `stable` → `Stable`, `preparing_rebalance` → `PreparingRebalance`: Kafka's spelling of group states and types. */
export function displayName (wireName: string): string {
  if (wireName === '') return MISSING
  return wireName.split(/[_\s-]+/).map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join('')
}

/** `orders(0,2),payments(1)`: the partitions a member owns, by topic (topics and partitions sorted); '-' if none. */
export function assignmentText (assignment: readonly { readonly topic: string; readonly partitions: readonly number[] }[]): string {
  const byTopic = new Map<string, number[]>()
  for (const { topic, partitions } of assignment) byTopic.set(topic, [...(byTopic.get(topic) ?? []), ...partitions])
  const parts = [...byTopic.entries()]
    .filter(([, partitions]) => partitions.length > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([topic, partitions]) => `${topic}(${[...partitions].sort((a, b) => a - b).join(',')})`)
  return parts.length === 0 ? MISSING : parts.join(',')
}

function partitionCount (member: GroupMemberDescription): number {
  return member.assignment.reduce((sum, owned) => sum + owned.partitions.length, 0)
}

const cell = (value: string | number | null | undefined): string =>
  value === null || value === undefined || value === '' ? MISSING : String(value)

const offsetColumns: readonly Column[] = [
  { title: 'GROUP', minWidth: 15 }, { title: 'TOPIC', minWidth: 15 }, { title: 'PARTITION', minWidth: 10 },
  { title: 'CURRENT-OFFSET', minWidth: 15 }, { title: 'LOG-END-OFFSET', minWidth: 15 }, { title: 'LAG', minWidth: 15 },
  { title: 'CONSUMER-ID', minWidth: 15 }, { title: 'HOST', minWidth: 15 }, { title: 'CLIENT-ID', minWidth: 0 },
]

/**
 * `--describe --offsets`: one row per partition (committed offset, log end, lag, owner), then, as Kafka does, one
 * row of '-' per member that owns no partition.
 */
export function offsetsTable (groupId: string, rows: readonly GroupLagRow[], members: readonly GroupMemberDescription[] = []): string[] {
  const partitionRows = rows.map((row) => [
    groupId, row.topic, String(row.partition), cell(row.currentOffset), String(row.logEndOffset), cell(row.lag),
    cell(row.memberId), cell(row.clientHost), cell(row.clientId),
  ])
  const idleRows = sortedMembers(members).filter((member) => partitionCount(member) === 0).map((member) => [
    groupId, MISSING, MISSING, MISSING, MISSING, MISSING, cell(member.memberId), cell(member.clientHost), cell(member.clientId),
  ])
  return alignedTable(offsetColumns, [...partitionRows, ...idleRows])
}

/** `--describe --members [--verbose]`: one row per member, with what it owns under `--verbose`. */
export function membersTable (groupId: string, members: readonly GroupMemberDescription[], options: { readonly verbose: boolean }): string[] {
  const columns: Column[] = [
    { title: 'GROUP', minWidth: 15 }, { title: 'CONSUMER-ID', minWidth: 15 }, { title: 'HOST', minWidth: 15 },
    { title: 'CLIENT-ID', minWidth: 15 }, { title: '#PARTITIONS', minWidth: options.verbose ? 15 : 0 },
  ]
  if (options.verbose) columns.push({ title: 'ASSIGNMENT', minWidth: 0 })
  const rows = sortedMembers(members).map((member) => {
    const cells = [groupId, cell(member.memberId), cell(member.clientHost), cell(member.clientId), String(partitionCount(member))]
    if (options.verbose) cells.push(assignmentText(member.assignment))
    return cells
  })
  return alignedTable(columns, rows)
}

export interface CoordinatorAddress {
  readonly id: number
  readonly host: string
  readonly port: number
}

/** `--describe --state`: the coordinator as Kafka prints it, `host:port  (id)`, the assignor, state and size. */
export function stateTable (description: GroupDescription, coordinator: CoordinatorAddress): string[] {
  const columns: readonly Column[] = [
    { title: 'GROUP', minWidth: 15 }, { title: 'COORDINATOR (ID)', minWidth: 15 }, { title: 'ASSIGNMENT-STRATEGY', minWidth: 20 },
    { title: 'STATE', minWidth: 20 }, { title: '#MEMBERS', minWidth: 0 },
  ]
  return alignedTable(columns, [[
    description.groupId, `${coordinator.host}:${coordinator.port}  (${coordinator.id})`, cell(description.assignorName), displayName(description.state), String(description.members.length),
  ]])
}

/** `--list --state`: group, type and state per group. */
export function listTable (groups: readonly ListedGroup[]): string[] {
  const columns: readonly Column[] = [{ title: 'GROUP', minWidth: 15 }, { title: 'TYPE', minWidth: 15 }, { title: 'STATE', minWidth: 0 }]
  return alignedTable(columns, groups.map((group) => [group.groupId, displayName(group.groupType), displayName(group.state)]))
}

/** `--reset-offsets`: the offsets the group will have (or has, after `--execute`). */
export function resetPlanTable (groupId: string, plan: readonly OffsetResetPlanRow[]): string[] {
  const columns: readonly Column[] = [
    { title: 'GROUP', minWidth: 30 }, { title: 'TOPIC', minWidth: 30 }, { title: 'PARTITION', minWidth: 10 }, { title: 'NEW-OFFSET', minWidth: 0 },
  ]
  return alignedTable(columns, plan.map((row) => [groupId, row.topic, String(row.partition), String(row.newOffset)]))
}

function sortedMembers (members: readonly GroupMemberDescription[]): GroupMemberDescription[] {
  return [...members].sort((a, b) => a.memberId.localeCompare(b.memberId))
}

/** `groups describe --json`: everything the three tables show, in one document, plus the coordinator's address. */
export interface DescribeDocument {
  readonly groupId: string
  readonly groupType: string
  readonly state: string
  readonly groupEpoch: number
  readonly assignmentEpoch: number
  readonly assignmentStrategy: string
  readonly coordinator: CoordinatorAddress
  readonly members: readonly GroupMemberDescription[]
  readonly offsets: readonly GroupLagRow[]
}

export function describeDocument (description: GroupDescription, coordinator: CoordinatorAddress, offsets: readonly GroupLagRow[]): DescribeDocument {
  return {
    groupId: description.groupId,
    groupType: displayName(description.groupType),
    state: displayName(description.state),
    groupEpoch: description.groupEpoch,
    assignmentEpoch: description.assignmentEpoch,
    assignmentStrategy: description.assignorName,
    coordinator,
    members: sortedMembers(description.members),
    offsets,
  }
}
