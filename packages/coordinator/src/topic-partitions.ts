/**
 * Sets of partitions, two shapes: `TopicPartitions[]` (canonical: sorted by topic, partitions ascending, no empty
 * entries; what records and responses carry) and `PartitionSet` (a Map of Sets, for set algebra in decisions).
 *
 * Owns: conversion between the two and the set operations the reconciliation needs. Every function returns new
 * values; none mutates its arguments.
 */
import type { TopicPartitions } from './coordinator-types.js'

export type PartitionSet = ReadonlyMap<string, ReadonlySet<number>>

/** Code-unit order, the same everywhere (records are checked to be sorted by it). */
export function compareStrings (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

export function toPartitionSet (list: readonly TopicPartitions[]): Map<string, Set<number>> {
  const set = new Map<string, Set<number>>()
  for (const { topic, partitions } of list) for (const p of partitions) addPartition(set, topic, p)
  return set
}

/** Adds one partition to a set being built (the one place that creates a topic's entry). */
export function addPartition (set: Map<string, Set<number>>, topic: string, partition: number): void {
  let entry = set.get(topic)
  if (entry === undefined) set.set(topic, entry = new Set())
  entry.add(partition)
}

export function toTopicPartitions (set: PartitionSet): TopicPartitions[] {
  return [...set.entries()]
    .filter(([, partitions]) => partitions.size > 0)
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([topic, partitions]) => ({ topic, partitions: [...partitions].sort((x, y) => x - y) }))
}

export function partitionCount (list: readonly TopicPartitions[]): number {
  let n = 0
  for (const { partitions } of list) n += partitions.length
  return n
}

export function sameTopicPartitions (a: readonly TopicPartitions[], b: readonly TopicPartitions[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as TopicPartitions
    const y = b[i] as TopicPartitions
    if (x.topic !== y.topic || x.partitions.length !== y.partitions.length) return false
    for (let j = 0; j < x.partitions.length; j++) if (x.partitions[j] !== y.partitions[j]) return false
  }
  return true
}

/** Whether every partition of `inner` is in `outer`. */
export function isSubset (inner: PartitionSet, outer: PartitionSet): boolean {
  for (const [topic, partitions] of inner) {
    const other = outer.get(topic)
    for (const p of partitions) if (other?.has(p) !== true) return false
  }
  return true
}

/** Whether `a` and `b` share a partition. */
export function intersects (a: PartitionSet, b: PartitionSet): boolean {
  for (const [topic, partitions] of a) {
    const other = b.get(topic)
    if (other === undefined) continue
    for (const p of partitions) if (other.has(p)) return true
  }
  return false
}
