/**
 * Majority arithmetic over a voter set (etcd `quorum.MajorityConfig`), as pure functions.
 *
 * `committedIndex` is the largest index a majority has (Raft §5.3: an entry is committed once stored on a majority;
 * the §5.4.2 current-term restriction is the caller's). `voteResult` decides an election as soon as the outcome can
 * no longer change.
 */
import { type NodeId, type RaftIndex, raftIndex } from '@gregor/common'

export type VoteResult = 'won' | 'lost' | 'pending'

export function majority (voterCount: number): number {
  return Math.floor(voterCount / 2) + 1
}

export function committedIndex (voters: readonly NodeId[], matchOf: (id: NodeId) => RaftIndex): RaftIndex {
  if (voters.length === 0) return raftIndex(0)
  const matches = voters.map(matchOf).sort((a, b) => b - a)
  return matches[majority(voters.length) - 1] as RaftIndex
}

export function voteResult (voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let granted = 0
  let rejected = 0
  for (const id of voters) {
    const vote = votes.get(id)
    if (vote === true) granted++
    else if (vote === false) rejected++
  }
  const needed = majority(voters.length)
  if (granted >= needed) return 'won'
  if (voters.length - rejected < needed) return 'lost'
  return 'pending'
}
