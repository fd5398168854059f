/**
 * Branded numeric ids, so that a Raft `index` can never be passed where a partition `offset` is expected.
 *
 * Vocabulary (never mixed): Raft uses `Term` and `RaftIndex`; partitions use `Offset` and `LeaderEpoch`.
 * Offsets are int64 on the wire; in TypeScript they are numbers, asserted to stay within 2^53 (at a million records
 * a second that is 285 years of one partition), which keeps the hot path free of bigint arithmetic.
 */
export type NodeId = number & { readonly __brand: 'NodeId' }
export type Term = number & { readonly __brand: 'Term' }
export type RaftIndex = number & { readonly __brand: 'RaftIndex' }
export type Offset = number & { readonly __brand: 'Offset' }
export type LeaderEpoch = number & { readonly __brand: 'LeaderEpoch' }

export const nodeId = (value: number): NodeId => value as NodeId
export const term = (value: number): Term => value as Term
export const raftIndex = (value: number): RaftIndex => value as RaftIndex
export const offset = (value: number): Offset => value as Offset
export const leaderEpoch = (value: number): LeaderEpoch => value as LeaderEpoch
