/**
 * Kafka's data-plane requests list partitions under their topics, and answer them under the same topics in the same
 * order; the data API takes and gives one flat list. These two keep that order, so answer `i` is request partition `i`.
 */

/** Every partition of every topic, in request order, as one flat list of `input(topic, partition)`. */
export function flattenByTopic<Topic, Partition, Input> (
  topics: readonly Topic[], partitionsOf: (topic: Topic) => readonly Partition[], input: (topic: Topic, partition: Partition) => Input,
): Input[] {
  return topics.flatMap((topic) => partitionsOf(topic).map((partition) => input(topic, partition)))
}

/** The flat `outcomes` (one per request partition, in request order) back under their topics. */
export function regroupByTopic<Topic, Partition, Outcome, Answer> (
  topics: readonly Topic[], partitionsOf: (topic: Topic) => readonly Partition[], outcomes: readonly Outcome[],
  answer: (topic: Topic, outcomes: Outcome[]) => Answer,
): Answer[] {
  let next = 0
  return topics.map((topic) => {
    const count = partitionsOf(topic).length
    const mine = outcomes.slice(next, next + count)
    next += count
    return answer(topic, mine)
  })
}

/** A byte view as the codec's Buffer, without a copy. */
export function asBuffer (bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
