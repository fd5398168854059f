/**
 * DescribeLogDirs (key 35, v1-4): this broker's log directory with the size of each replica it holds and how far each
 * is behind its high watermark (Kafka's offset lag), for cluster UIs. A null topic list means every partition; a
 * named topic or partition this broker does not hold is left out, as Kafka does. A failed directory answers
 * KAFKA_STORAGE_ERROR with no partitions. Total and usable bytes (v4) are not measured: -1.
 */
import { type DescribeLogDirsRequest, type DescribeLogDirsResponse, KAFKA_NONE, kafkaErrorCode } from '@gregor/kafka-protocol'
import type { KafkaAdminApi, LogDirPartition } from '../kafka-admin-api.js'
import type { KafkaRequestContext } from '../kafka-handlers.js'

export function handleDescribeLogDirs (api: KafkaAdminApi, request: DescribeLogDirsRequest, _context: KafkaRequestContext): DescribeLogDirsResponse {
  const wanted = request.topics === null ? undefined : new Map(request.topics.map((topic) => [topic.topic, new Set(topic.partitions)]))
  const included = (partition: LogDirPartition): boolean =>
    wanted === undefined || wanted.get(partition.topic)?.has(partition.partition) === true
  const results = api.describeLogDirs().map((dir) => {
    const byTopic = new Map<string, LogDirPartition[]>()
    for (const partition of dir.partitions.filter(included)) {
      byTopic.set(partition.topic, [...(byTopic.get(partition.topic) ?? []), partition])
    }
    return {
      errorCode: dir.error === undefined ? KAFKA_NONE : kafkaErrorCode(dir.error),
      logDir: dir.path,
      topics: [...byTopic].map(([name, partitions]) => ({
        name,
        partitions: partitions.map((partition) => ({
          partitionIndex: partition.partition, partitionSize: partition.sizeBytes, offsetLag: partition.offsetLag, isFutureKey: false,
        })),
      })),
      totalBytes: -1,
      usableBytes: -1,
    }
  })
  return { throttleTimeMs: 0, errorCode: KAFKA_NONE, results }
}
