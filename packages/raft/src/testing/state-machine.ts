/**
 * The simulation's replicated state machine: a hash chain over the applied payloads (TigerBeetle's checksum chain).
 * Two nodes with the same hash at the same index applied the same sequence; a snapshot is just (index, hash).
 */
import { type RaftIndex, raftIndex } from '@gregor/common'

export interface StateMachine {
  readonly appliedIndex: RaftIndex
  readonly hash: number
}

export const initialStateMachine: StateMachine = { appliedIndex: raftIndex(0), hash: 0 }

/** Two FNV-1a variants folded into 53 bits: collisions are far too rare to hide a divergence. */
export function chainHash (previous: number, data: Uint8Array): number {
  let a = (previous % 4294967296) ^ 0x811c9dc5
  let b = Math.floor(previous / 4294967296) ^ 0x01000193
  for (const byte of data) {
    a = Math.imul(a ^ byte, 16777619) >>> 0
    b = Math.imul(b ^ byte, 2246822519) >>> 0
  }
  a = Math.imul(a ^ 0xff, 16777619) >>> 0
  return (a >>> 0) * 2097152 + (b >>> 11)
}

export function applyEntry (state: StateMachine, data: Uint8Array): StateMachine {
  return { appliedIndex: raftIndex(state.appliedIndex + 1), hash: chainHash(state.hash, data) }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function encodeStateMachine (state: StateMachine): Uint8Array {
  return encoder.encode(`${state.appliedIndex}:${state.hash}`)
}

export function decodeStateMachine (data: Uint8Array): StateMachine {
  if (data.length === 0) return initialStateMachine
  const [index, hash] = decoder.decode(data).split(':')
  return { appliedIndex: raftIndex(Number(index)), hash: Number(hash) }
}
