/**
 * The cluster as an operator watches it: one `ClusterView` (quorum, brokers, every partition's leader, ISR, leader
 * epoch and high watermark) and the `ClusterEvent`s that tell two views apart. `gregor cluster watch` builds views
 * from the client API, the broker's cluster page builds them from its own metadata image; both diff and describe
 * changes with this module, so the terminal and the page say the same thing in the same words.
 *
 * Owns: the view and event shapes (they are the `--json` line and the server-sent event, see docs/cluster-view.md),
 * canonical order (brokers by id, partitions by topic then index), change detection and the event text.
 *
 * Pure: no clock and no I/O. A view carries the time it was observed (`timeMs`, given by whoever observed it), and
 * its events carry that same time. Vocabulary: raft has `term` and `commitIndex`; partitions have `leaderEpoch`
 * and `highWatermark` (never the other way round).
 */
import { NO_LEADER } from './metadata-record.js'

/** `alive`: registered and unfenced; `fenced`: may not lead or join an ISR; `shutting-down`: controlled shutdown. */
export type BrokerState = 'alive' | 'fenced' | 'shutting-down'

export interface BrokerView {
  readonly brokerId: number
  readonly state: BrokerState
}

export interface QuorumView {
  /** The raft leader of the metadata quorum; -1 during an election. */
  readonly leaderId: number
  readonly term: number
  /** null when the observer does not know it. */
  readonly commitIndex: number | null
}

export interface PartitionView {
  readonly topic: string
  readonly partition: number
  /** -1 (`NO_LEADER`): offline. */
  readonly leader: number
  readonly leaderEpoch: number
  /** Assignment order: `replicas[0]` is the preferred leader. */
  readonly replicas: readonly number[]
  readonly isr: readonly number[]
  /** As the observer last learned it; null when it could not learn it (no leader, or not hosted by the observer). */
  readonly highWatermark: number | null
}

export interface ClusterView {
  /** When the view was observed (milliseconds since the epoch). */
  readonly timeMs: number
  readonly clusterId: string
  /** The active controller (the quorum leader in combined mode); -1 when none is known. */
  readonly controllerId: number
  readonly quorum: QuorumView
  readonly brokers: readonly BrokerView[]
  readonly partitions: readonly PartitionView[]
}

/** One change between two views, stamped with the time of the later view. */
export type ClusterEvent =
  | { readonly kind: 'controller'; readonly timeMs: number; readonly previous: number; readonly next: number; readonly term: number }
  | { readonly kind: 'term'; readonly timeMs: number; readonly previous: number; readonly next: number; readonly controllerId: number }
  | {
    readonly kind: 'broker'; readonly timeMs: number; readonly brokerId: number
    /** `absent`: not registered (before a registration or after an unregistration). */
    readonly previous: BrokerState | 'absent'; readonly next: BrokerState | 'absent'
  }
  | {
    readonly kind: 'topic'; readonly timeMs: number; readonly topic: string
    /** `grown`: more partitions (CreatePartitions); `partitionCount` is the new count. */
    readonly change: 'created' | 'deleted' | 'grown'; readonly partitionCount: number
  }
  | {
    readonly kind: 'leader'; readonly timeMs: number; readonly topic: string; readonly partition: number
    readonly previous: number; readonly next: number; readonly previousLeaderEpoch: number; readonly leaderEpoch: number
  }
  | {
    readonly kind: 'isr'; readonly timeMs: number; readonly topic: string; readonly partition: number
    readonly previous: readonly number[]; readonly next: readonly number[]
  }

/** An event with its text, as the `--json` line and the page carry it. */
export type ClusterEventEntry = ClusterEvent & { readonly text: string }

/** What `cluster watch --json` prints per line and `/cluster/events` sends per message. */
export interface ClusterUpdate extends ClusterView {
  /** Changes since the previous update to the same reader, oldest first. */
  readonly events: readonly ClusterEventEntry[]
}

export type PartitionStatus = 'ok' | 'offline' | 'under-replicated'

/** A view in canonical order (brokers by id, partitions by topic then index), frozen, so views compare stably. */
export function clusterView (fields: ClusterView): ClusterView {
  const brokers = [...fields.brokers].sort((a, b) => a.brokerId - b.brokerId).map((broker) => Object.freeze({ ...broker }))
  const partitions = [...fields.partitions]
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition))
    .map((partition) => Object.freeze({ ...partition, replicas: Object.freeze([...partition.replicas]), isr: Object.freeze([...partition.isr]) }))
  return Object.freeze({
    ...fields, quorum: Object.freeze({ ...fields.quorum }), brokers: Object.freeze(brokers), partitions: Object.freeze(partitions),
  })
}

/** Whether two views show the same cluster (everything but `timeMs`): a reader prints or pushes only on a change. */
export function clusterViewsEqual (a: ClusterView, b: ClusterView): boolean {
  return contentKey(a) === contentKey(b)
}

function contentKey (view: ClusterView): string {
  return JSON.stringify([
    view.clusterId, view.controllerId, view.quorum.leaderId, view.quorum.term, view.quorum.commitIndex,
    view.brokers.map((broker) => [broker.brokerId, broker.state]),
    view.partitions.map((p) => [p.topic, p.partition, p.leader, p.leaderEpoch, p.replicas, p.isr, p.highWatermark]),
  ])
}

/**
 * The changes from `previous` to `next`, in reading order: controller (or term), brokers, topics, then per
 * partition its leader and ISR. High watermarks move all the time and are state, not events. A partition of a topic
 * that is created or deleted gets no leader or ISR events of its own: the topic event says it.
 */
export function diffClusterViews (previous: ClusterView, next: ClusterView): ClusterEvent[] {
  const timeMs = next.timeMs
  const events: ClusterEvent[] = []
  if (previous.controllerId !== next.controllerId) {
    events.push({ kind: 'controller', timeMs, previous: previous.controllerId, next: next.controllerId, term: next.quorum.term })
  } else if (previous.quorum.term !== next.quorum.term) {
    events.push({ kind: 'term', timeMs, previous: previous.quorum.term, next: next.quorum.term, controllerId: next.controllerId })
  }

  const previousBrokers = new Map(previous.brokers.map((broker) => [broker.brokerId, broker.state]))
  const nextBrokers = new Map(next.brokers.map((broker) => [broker.brokerId, broker.state]))
  for (const brokerId of [...new Set([...previousBrokers.keys(), ...nextBrokers.keys()])].sort((a, b) => a - b)) {
    const before = previousBrokers.get(brokerId) ?? 'absent'
    const after = nextBrokers.get(brokerId) ?? 'absent'
    if (before !== after) events.push({ kind: 'broker', timeMs, brokerId, previous: before, next: after })
  }

  const previousTopics = partitionCounts(previous)
  const nextTopics = partitionCounts(next)
  for (const [topic, partitionCount] of previousTopics) {
    if (!nextTopics.has(topic)) events.push({ kind: 'topic', timeMs, topic, change: 'deleted', partitionCount })
  }
  for (const [topic, partitionCount] of nextTopics) {
    const before = previousTopics.get(topic)
    if (before === undefined) events.push({ kind: 'topic', timeMs, topic, change: 'created', partitionCount })
    else if (partitionCount > before) events.push({ kind: 'topic', timeMs, topic, change: 'grown', partitionCount })
  }

  const before = new Map(previous.partitions.map((partition) => [partitionName(partition), partition]))
  for (const after of next.partitions) {
    const old = before.get(partitionName(after))
    if (old === undefined) continue
    const { topic, partition } = after
    if (old.leader !== after.leader || old.leaderEpoch !== after.leaderEpoch) {
      events.push({
        kind: 'leader', timeMs, topic, partition, previous: old.leader, next: after.leader,
        previousLeaderEpoch: old.leaderEpoch, leaderEpoch: after.leaderEpoch,
      })
    }
    if (!sameList(old.isr, after.isr)) events.push({ kind: 'isr', timeMs, topic, partition, previous: old.isr, next: after.isr })
  }
  return events
}

/** One line of text per event, e.g. `orders-0 leader 2→3 epoch 5`, `broker 2 fenced`, `controller 1→3 term 7`. */
export function formatClusterEvent (event: ClusterEvent): string {
  switch (event.kind) {
    case 'controller': return `controller ${brokerName(event.previous)}→${brokerName(event.next)} term ${event.term}`
    case 'term': return `term ${event.previous}→${event.next} controller ${brokerName(event.controllerId)}`
    case 'broker': return `broker ${event.brokerId} ${brokerChange(event.previous, event.next)}`
    case 'topic': {
      const count = `${event.partitionCount} partition${event.partitionCount === 1 ? '' : 's'}`
      if (event.change === 'created') return `topic ${event.topic} created, ${count}`
      return event.change === 'grown' ? `topic ${event.topic} now has ${count}` : `topic ${event.topic} deleted`
    }
    case 'leader': {
      const name = `${event.topic}-${event.partition}`
      if (event.previous === event.next) return `${name} leader ${brokerName(event.next)} epoch ${event.previousLeaderEpoch}→${event.leaderEpoch}`
      const offline = event.next === NO_LEADER ? ' (offline)' : ''
      return `${name} leader ${brokerName(event.previous)}→${brokerName(event.next)} epoch ${event.leaderEpoch}${offline}`
    }
    case 'isr': return `${event.topic}-${event.partition} isr ${brokerList(event.previous)}→${brokerList(event.next)}`
  }
}

/** The update a reader sends: the view and the given events with their text. */
export function clusterUpdate (view: ClusterView, events: readonly ClusterEvent[]): ClusterUpdate {
  return { ...view, events: events.map((event) => ({ ...event, text: formatClusterEvent(event) })) }
}

/** `offline`: no leader (nothing can be produced or fetched); `under-replicated`: ISR smaller than the replicas. */
export function partitionStatus (partition: PartitionView): PartitionStatus {
  if (partition.leader === NO_LEADER) return 'offline'
  return partition.isr.length < partition.replicas.length ? 'under-replicated' : 'ok'
}

/** `orders-0`: Kafka's name of a topic partition. */
export function partitionName (partition: { readonly topic: string; readonly partition: number }): string {
  return `${partition.topic}-${partition.partition}`
}

function partitionCounts (view: ClusterView): Map<string, number> {
  const counts = new Map<string, number>()
  for (const partition of view.partitions) counts.set(partition.topic, (counts.get(partition.topic) ?? 0) + 1)
  return counts
}

function brokerChange (previous: BrokerState | 'absent', next: BrokerState | 'absent'): string {
  if (previous === 'absent') return `registered${next === 'alive' ? '' : `, ${stateText(next)}`}`
  if (next === 'absent') return 'unregistered'
  if (previous === 'fenced' && next === 'alive') return 'unfenced'
  return stateText(next)
}

function stateText (state: BrokerState | 'absent'): string {
  return state === 'shutting-down' ? 'shutting down' : state
}

function brokerName (brokerId: number): string {
  return brokerId < 0 ? 'none' : String(brokerId)
}

function brokerList (ids: readonly number[]): string {
  return ids.length === 0 ? '-' : ids.join(',')
}

function sameList (a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i])
}
