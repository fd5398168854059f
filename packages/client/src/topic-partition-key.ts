/**
 * The one Map/Set key for a topic-partition inside the client (positions, owned partitions, committed offsets,
 * results matched to requests). NUL separates the parts: topic names cannot contain it, so keys never collide.
 * Pure.
 */

export function topicPartitionKey (topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}
