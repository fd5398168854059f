/**
 * A classic group (the JoinGroup/SyncGroup protocol, Kafka's `ClassicGroup`): its domain requests and responses, its
 * configuration and its membership state.
 *
 * Owns: the members (their protocols and opaque metadata, timeouts, the opaque assignment the leader gave them), the
 * group's state (empty → preparing_rebalance → completing_rebalance → stable), its generation, chosen protocol and
 * leader, and the deadlines that drive it (the join phase's, the sync phase's, each member's session). The broker
 * never reads a member's metadata or assignment to decide anything: it relays the leader's bytes, so keeping a
 * partition with one member at a time is the clients' assignor's job; the coordinator's is generation fencing.
 *
 * This is the live state of a loaded group; what of it survives a failover is persisted by the decisions: each
 * completed generation (members, timeouts, chosen protocol's metadata, assignments, leader) as a GroupMetadata record,
 * from which a new coordinator rebuilds the group Stable with fresh sessions (`restoreClassicGroup`). Phases, waiting
 * requests, pending member ids and deadlines are not persisted. Only the decisions in classic-group-decisions.ts
 * change this state.
 */
import type { ErrorCode } from '@gregor/common'

/** Kafka's classic group states, lower-case with underscores as Gregor prints states. */
export type ClassicGroupState = 'empty' | 'preparing_rebalance' | 'completing_rebalance' | 'stable' | 'dead'

export interface ClassicGroupConfig {
  /** The first join of an empty group waits this long for more members (`group.initial.rebalance.delay.ms`). */
  readonly initialRebalanceDelayMs: number
  /** Bounds of a member's session timeout (`group.min.session.timeout.ms`, `group.max.session.timeout.ms`). */
  readonly minSessionTimeoutMs: number
  readonly maxSessionTimeoutMs: number
}

export const defaultClassicGroupConfig: ClassicGroupConfig = Object.freeze({
  initialRebalanceDelayMs: 3000,
  minSessionTimeoutMs: 6000,
  maxSessionTimeoutMs: 1_800_000,
})

export interface ClassicProtocol {
  readonly name: string
  readonly metadata: Uint8Array
}

export interface JoinGroupRequest {
  readonly groupId: string
  /** '' for a member the coordinator has not named yet. */
  readonly memberId: string
  /** Static membership is not supported: a non-null id is refused. */
  readonly groupInstanceId: string | null
  readonly protocolType: string
  /** In the member's order of preference. */
  readonly protocols: readonly ClassicProtocol[]
  readonly sessionTimeoutMs: number
  /** -1 (JoinGroup v0): the session timeout. */
  readonly rebalanceTimeoutMs: number
  /** JoinGroup v4+: a new member is first told its id (MEMBER_ID_REQUIRED) and joins again with it. */
  readonly requireKnownMemberId: boolean
  readonly clientId: string
  readonly clientHost: string
}

export interface JoinGroupMember {
  readonly memberId: string
  readonly metadata: Uint8Array
}

export interface JoinGroupResponse {
  /** '' for success. */
  readonly errorCode: ErrorCode | ''
  readonly errorMessage: string
  readonly generationId: number
  readonly protocolType: string
  readonly protocolName: string
  readonly leader: string
  readonly memberId: string
  /** Every member with its metadata for the chosen protocol, for the leader only; empty for the others. */
  readonly members: readonly JoinGroupMember[]
}

export interface SyncGroupRequest {
  readonly groupId: string
  readonly generationId: number
  readonly memberId: string
  readonly groupInstanceId: string | null
  /** The leader's assignment for each member (others send none). */
  readonly assignments: readonly { readonly memberId: string; readonly assignment: Uint8Array }[]
}

export interface SyncGroupResponse {
  readonly errorCode: ErrorCode | ''
  readonly errorMessage: string
  readonly protocolType: string
  readonly protocolName: string
  readonly assignment: Uint8Array
}

export interface ClassicHeartbeatRequest {
  readonly groupId: string
  readonly generationId: number
  readonly memberId: string
  readonly groupInstanceId: string | null
}

export interface ClassicHeartbeatResponse {
  readonly errorCode: ErrorCode | ''
  readonly errorMessage: string
}

export interface LeaveGroupRequest {
  readonly groupId: string
  readonly members: readonly { readonly memberId: string; readonly groupInstanceId: string | null }[]
}

export interface LeaveGroupResponse {
  /** A group-level error (the group does not exist or is not classic); '' otherwise. */
  readonly errorCode: ErrorCode | ''
  readonly errorMessage: string
  readonly members: readonly { readonly memberId: string; readonly groupInstanceId: string | null; readonly errorCode: ErrorCode | '' }[]
}

/** What DescribeGroups (key 15) says of a classic group. */
export interface ClassicGroupDescription {
  readonly groupId: string
  readonly state: ClassicGroupState
  readonly protocolType: string
  readonly protocolName: string
  readonly members: readonly {
    readonly memberId: string
    readonly clientId: string
    readonly clientHost: string
    /** The member's metadata for the chosen protocol and its assignment; empty unless the group is stable. */
    readonly metadata: Uint8Array
    readonly assignment: Uint8Array
  }[]
}

export interface ClassicMember {
  readonly memberId: string
  clientId: string
  clientHost: string
  protocolType: string
  protocols: readonly ClassicProtocol[]
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  /** A JoinGroup of this member waits for the join phase to end. */
  awaitingJoin: boolean
  /** A SyncGroup of this member waits for the leader's assignment. */
  awaitingSync: boolean
  assignment: Uint8Array
  sessionDeadlineMs: number
}

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0)

export class ClassicGroup {
  readonly groupId: string
  state: ClassicGroupState = 'empty'
  generationId: number
  protocolType = ''
  protocolName = ''
  leaderId = ''
  /** In join order (the first member leads when the leader leaves). */
  readonly members = new Map<string, ClassicMember>()
  /** Members named by a MEMBER_ID_REQUIRED answer that have not joined with their id yet → their deadline. */
  readonly pendingMembers = new Map<string, number>()
  /** Members that have not sent SyncGroup in this generation yet. */
  readonly pendingSync = new Set<string>()
  /** preparing_rebalance: when the join phase ends even if some members have not rejoined. */
  joinDeadlineMs: number | undefined
  /** The first join of an empty group: what is left of the rebalance timeout to extend the delay with. */
  initialDelay: { remainingMs: number; memberJoined: boolean } | undefined
  /** completing_rebalance or stable: when members that have not synced are removed. */
  syncDeadlineMs: number | undefined

  constructor (groupId: string, generationId: number) {
    this.groupId = groupId
    this.generationId = generationId
  }

  get isEmpty (): boolean { return this.members.size === 0 && this.pendingMembers.size === 0 }

  /** The longest rebalance timeout of the members: how long the join phase waits (Kafka's `rebalanceTimeoutMs()`). */
  get rebalanceTimeoutMs (): number {
    let timeout = 0
    for (const member of this.members.values()) timeout = Math.max(timeout, member.rebalanceTimeoutMs)
    return timeout
  }

  get allMembersJoined (): boolean {
    if (this.pendingMembers.size > 0) return false
    for (const member of this.members.values()) if (!member.awaitingJoin) return false
    return true
  }

  /** Whether a member with these protocols may join: same protocol type, and one protocol every member supports. */
  supportsProtocols (protocolType: string, protocols: readonly ClassicProtocol[], exceptMemberId = ''): boolean {
    if (protocolType === '' || protocols.length === 0) return false
    const others = [...this.members.values()].filter((member) => member.memberId !== exceptMemberId)
    if (others.length === 0) return true
    if (others.some((member) => member.protocolType !== protocolType)) return false
    return protocols.some(({ name }) => others.every((member) => member.protocols.some((p) => p.name === name)))
  }

  /**
   * The protocol every member supports with the most votes, each member voting for its most preferred one among
   * those (Kafka's `selectProtocol`); ties go to the name first in sort order, so the choice is deterministic.
   */
  selectProtocol (): string {
    const members = [...this.members.values()]
    const candidates = new Set(members[0]?.protocols.map((p) => p.name) ?? [])
    for (const member of members) {
      const names = new Set(member.protocols.map((p) => p.name))
      for (const name of candidates) if (!names.has(name)) candidates.delete(name)
    }
    const votes = new Map<string, number>()
    for (const member of members) {
      const vote = member.protocols.find((p) => candidates.has(p.name))?.name
      if (vote !== undefined) votes.set(vote, (votes.get(vote) ?? 0) + 1)
    }
    let chosen = ''
    let most = 0
    for (const [name, count] of [...votes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (count > most) { chosen = name; most = count }
    }
    return chosen
  }

  /** The member's metadata for the group's chosen protocol. */
  metadataOf (member: ClassicMember): Uint8Array {
    return member.protocols.find((p) => p.name === this.protocolName)?.metadata ?? EMPTY_BYTES
  }
}
