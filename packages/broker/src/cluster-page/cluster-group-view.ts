/**
 * The consumer groups on the cluster page: `ClusterGroupView` (one group this broker coordinates: state, epoch,
 * members with their assignment, committed offsets and lag), the page's view and update shapes that carry them next
 * to the metadata `ClusterView`, and the events that tell two lists of groups apart.
 *
 * Owns: canonical order (groups by id, members by member id, assignments by topic with sorted partitions, offsets by
 * topic then partition), so two observations of the same groups compare equal whatever order the coordinator keeps
 * them in; change detection and the event text (`group orders-app reconciling→stable epoch 4`).
 *
 * Committed offsets, high watermarks and lag move all the time: they are state, not events (as high watermarks are
 * for partitions). A group that appears or disappears is "coordinated here" or "no longer coordinated here", not
 * created or deleted: this broker sees only the groups of the `__consumer_offsets` partitions it leads, so a group
 * also appears and disappears when that leadership moves.
 *
 * Pure: no clock and no I/O; events carry the `timeMs` of the later view.
 */
import type { ClusterEventEntry, ClusterView } from '@gregor/metadata'

export interface ClusterGroupMemberView {
  readonly memberId: string
  readonly clientId: string
  readonly clientHost: string
  readonly memberEpoch: number
  readonly assignment: readonly { readonly topic: string; readonly partitions: readonly number[] }[]
}

export interface ClusterGroupOffsetView {
  readonly topic: string
  readonly partition: number
  readonly committedOffset: number
  /** null when this broker does not know it (it holds no replica of the partition). */
  readonly highWatermark: number | null
  /** `highWatermark - committedOffset` (never below 0); null when the high watermark is unknown. */
  readonly lag: number | null
}

export interface ClusterGroupView {
  readonly groupId: string
  /** empty | assigning | reconciling | stable | dead (KIP-848's states, as `kafka-consumer-groups --state` prints them). */
  readonly state: string
  readonly groupEpoch: number
  readonly members: readonly ClusterGroupMemberView[]
  readonly offsets: readonly ClusterGroupOffsetView[]
}

/** What the page streams per message, without the events: the metadata view and the groups coordinated here. */
export interface ClusterPageView extends ClusterView {
  readonly groups: readonly ClusterGroupView[]
}

/** One change between two lists of groups, stamped with the time of the later view. */
export type GroupEvent =
  | { readonly kind: 'group'; readonly change: 'added'; readonly timeMs: number; readonly groupId: string; readonly state: string; readonly groupEpoch: number }
  | { readonly kind: 'group'; readonly change: 'removed'; readonly timeMs: number; readonly groupId: string }
  | {
    readonly kind: 'group'; readonly change: 'state'; readonly timeMs: number; readonly groupId: string
    readonly previous: string; readonly next: string; readonly previousGroupEpoch: number; readonly groupEpoch: number
  }
  | { readonly kind: 'group'; readonly change: 'member-joined'; readonly timeMs: number; readonly groupId: string; readonly memberId: string; readonly clientId: string }
  | { readonly kind: 'group'; readonly change: 'member-left'; readonly timeMs: number; readonly groupId: string; readonly memberId: string; readonly clientId: string }

export type GroupEventEntry = GroupEvent & { readonly text: string }

/** An event of the page's log: a metadata change or a group change. */
export type ClusterPageEventEntry = ClusterEventEntry | GroupEventEntry

/** What `/cluster/events` sends per message. */
export interface ClusterPageUpdate extends ClusterPageView {
  /** Changes since the previous message to the same subscriber, oldest first. */
  readonly events: readonly ClusterPageEventEntry[]
}

/** The groups in canonical order, frozen (deeply), so views compare stably and nobody mutates a pushed view. */
export function clusterGroupViews (groups: readonly ClusterGroupView[]): readonly ClusterGroupView[] {
  return Object.freeze([...groups].sort((a, b) => compareText(a.groupId, b.groupId)).map((group) => Object.freeze({
    groupId: group.groupId,
    state: group.state,
    groupEpoch: group.groupEpoch,
    members: Object.freeze([...group.members].sort((a, b) => compareText(a.memberId, b.memberId)).map((member) => Object.freeze({
      memberId: member.memberId,
      clientId: member.clientId,
      clientHost: member.clientHost,
      memberEpoch: member.memberEpoch,
      assignment: Object.freeze([...member.assignment].sort((a, b) => compareText(a.topic, b.topic)).map((owned) => Object.freeze({
        topic: owned.topic, partitions: Object.freeze([...owned.partitions].sort((a, b) => a - b)),
      }))),
    }))),
    offsets: Object.freeze([...group.offsets]
      .sort((a, b) => compareText(a.topic, b.topic) || a.partition - b.partition)
      .map((offset) => Object.freeze({
        topic: offset.topic, partition: offset.partition, committedOffset: offset.committedOffset, highWatermark: offset.highWatermark, lag: offset.lag,
      }))),
  })))
}

/** Whether two canonical lists show the same groups (offsets and lag included: a moved lag is a change to push). */
export function groupViewsEqual (a: readonly ClusterGroupView[], b: readonly ClusterGroupView[]): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b)
}

/**
 * The changes from `previous` to `next`, in reading order: groups no longer coordinated here, then per group (by
 * id) its appearance or its state/epoch change, then members that left and members that joined.
 */
export function diffGroupViews (previous: readonly ClusterGroupView[], next: readonly ClusterGroupView[], timeMs: number): GroupEvent[] {
  const events: GroupEvent[] = []
  const before = new Map(previous.map((group) => [group.groupId, group]))
  const after = new Set(next.map((group) => group.groupId))
  for (const group of previous) {
    if (!after.has(group.groupId)) events.push({ kind: 'group', change: 'removed', timeMs, groupId: group.groupId })
  }
  for (const group of next) {
    const { groupId } = group
    const old = before.get(groupId)
    if (old === undefined) {
      // The members of a group that appears are its state, not news: the appearance says it.
      events.push({ kind: 'group', change: 'added', timeMs, groupId, state: group.state, groupEpoch: group.groupEpoch })
      continue
    }
    if (old.state !== group.state || old.groupEpoch !== group.groupEpoch) {
      events.push({
        kind: 'group', change: 'state', timeMs, groupId, previous: old.state, next: group.state, previousGroupEpoch: old.groupEpoch, groupEpoch: group.groupEpoch,
      })
    }
    const oldMembers = new Set(old.members.map((member) => member.memberId))
    const newMembers = new Set(group.members.map((member) => member.memberId))
    for (const member of old.members) {
      if (!newMembers.has(member.memberId)) events.push({ kind: 'group', change: 'member-left', timeMs, groupId, memberId: member.memberId, clientId: member.clientId })
    }
    for (const member of group.members) {
      if (!oldMembers.has(member.memberId)) events.push({ kind: 'group', change: 'member-joined', timeMs, groupId, memberId: member.memberId, clientId: member.clientId })
    }
  }
  return events
}

/**
 * One line of text per event: `group orders-app coordinated here, stable epoch 3`, `group orders-app no longer
 * coordinated here`, `group orders-app stable→reconciling epoch 4`, `group orders-app epoch 3→4` (same state),
 * `group orders-app member m-1 (client c-1) joined`, `... left`.
 */
export function formatGroupEvent (event: GroupEvent): string {
  const name = `group ${event.groupId}`
  switch (event.change) {
    case 'added': return `${name} coordinated here, ${event.state} epoch ${event.groupEpoch}`
    case 'removed': return `${name} no longer coordinated here`
    case 'state': return event.previous === event.next
      ? `${name} epoch ${event.previousGroupEpoch}→${event.groupEpoch}`
      : `${name} ${event.previous}→${event.next} epoch ${event.groupEpoch}`
    case 'member-joined': return `${name} member ${event.memberId} (client ${event.clientId}) joined`
    case 'member-left': return `${name} member ${event.memberId} (client ${event.clientId}) left`
  }
}

export function groupEventEntries (events: readonly GroupEvent[]): GroupEventEntry[] {
  return events.map((event) => ({ ...event, text: formatGroupEvent(event) }))
}

/** Code-unit order, as the metadata view sorts topics (locale-independent, so every broker sorts alike). */
function compareText (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
