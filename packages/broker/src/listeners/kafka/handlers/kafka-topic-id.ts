/**
 * Topic ids on Kafka's wire: 16-byte UUIDs, the zero UUID meaning "none". Gregor's production ids are UUIDs; an id
 * that is not one (test fixtures and the simulation name ids freely) is answered as the zero UUID rather than failing
 * the whole answer.
 */
export const ZERO_UUID = '00000000-0000-0000-0000-000000000000'

const canonicalUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export function kafkaTopicId (topicId: string | undefined): string {
  return topicId !== undefined && canonicalUuid.test(topicId) ? topicId : ZERO_UUID
}
