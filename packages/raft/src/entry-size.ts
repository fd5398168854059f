/**
 * How big entries are, for the byte limits (`messageBytesMax`, `uncommittedBytesMax`).
 *
 * A message's size counts the payload plus a fixed per-entry overhead, so that a run of empty entries is still
 * bounded; the uncommitted budget counts payload only, so that a new leader's empty no-op is always accepted
 * (etcd `payloadSize`).
 *
 * Owns `entryDataBytesMax`, the largest payload one entry may carry: the transport's decoder refuses a bigger one
 * from the network (`RaftCodecLimits.entryBytesMax` defaults to it), so a bigger entry is never replicated, never
 * commits, and every later proposal waits behind it. Whoever proposes (the controller, the broker's raft driver) reads it from here and
 * refuses, or splits, anything bigger before proposing.
 */
import type { Entry } from './types.js'

/** The largest `data` of one entry, in bytes: 1 MiB, as Kafka's default `max.message.bytes`. */
export const entryDataBytesMax = 1024 * 1024

/** Term and index as two 8-byte integers on the wire. */
const entryOverheadBytes = 16

export function entryBytes (entry: Entry): number {
  return entry.data.byteLength + entryOverheadBytes
}

export function payloadBytes (entries: readonly Entry[]): number {
  let bytes = 0
  for (const entry of entries) bytes += entry.data.byteLength
  return bytes
}

/** The longest prefix of `entries` within `bytesMax`, but never less than the first entry (so progress is made). */
export function limitBytes<T extends Entry> (entries: readonly T[], bytesMax: number): readonly T[] {
  if (entries.length === 0) return entries
  let bytes = entryBytes(entries[0] as T)
  let count = 1
  while (count < entries.length) {
    bytes += entryBytes(entries[count] as T)
    if (bytes > bytesMax) break
    count++
  }
  return count === entries.length ? entries : entries.slice(0, count)
}
