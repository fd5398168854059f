/**
 * Which `__consumer_offsets` partition holds a group (Kafka's `GroupCoordinatorService.partitionFor`):
 * `Utils.abs(groupId.hashCode()) % partitionCount`, with Java's String.hashCode over UTF-16 code units (int32
 * overflow) and Kafka's `Utils.abs`, which maps Integer.MIN_VALUE to 0 and is otherwise Math.abs (not the
 * `& 0x7fffffff` of `Utils.toPositive`, which the producer's partitioner uses). Matching Kafka exactly means a group
 * lands on the partition a Kafka tool would look in.
 */
export const CONSUMER_OFFSETS_TOPIC = '__consumer_offsets'

/** Java's `String.hashCode()`. */
export function javaStringHashCode (value: string): number {
  let hash = 0
  for (let i = 0; i < value.length; i++) hash = (Math.imul(hash, 31) + value.charCodeAt(i)) | 0
  return hash
}

/** Kafka's `Utils.abs`: Integer.MIN_VALUE → 0, else the absolute value. */
export function kafkaAbs (value: number): number {
  return value === -2_147_483_648 ? 0 : Math.abs(value)
}

export function groupPartition (groupId: string, partitionCount: number): number {
  if (!Number.isSafeInteger(partitionCount) || partitionCount < 1) {
    throw new RangeError(`partitionCount must be a positive integer, got ${partitionCount}`)
  }
  return kafkaAbs(javaStringHashCode(groupId)) % partitionCount
}
