/**
 * Kafka's topic-name rules (`org.apache.kafka.common.internals.Topic.validate`): 1 to 249 characters of
 * `[a-zA-Z0-9._-]`, and not `.` or `..` (they would be directory names). 249 leaves room for the partition suffix
 * in the 255-byte file names of `<topic>-<partition>/` directories.
 *
 * Owns: `validateTopicName`, the internal-name convention (a `__` prefix, as in `__consumer_offsets`: allowed, but
 * flagged so callers can keep users away from them) and Kafka's `.`/`_` collision rule.
 */
import { ErrorCode, GregorError } from '@gregor/common'

export const TOPIC_NAME_LENGTH_MAX = 249

const legalName = /^[a-zA-Z0-9._-]+$/

/** Why `name` is not a legal topic name, or undefined when it is. */
export function topicNameProblem (name: unknown): string | undefined {
  if (typeof name !== 'string') return 'topic name must be a string'
  if (name.length === 0) return 'topic name must not be empty'
  if (name.length > TOPIC_NAME_LENGTH_MAX) {
    return `topic name is ${name.length} characters long; the maximum is ${TOPIC_NAME_LENGTH_MAX}`
  }
  if (name === '.' || name === '..') return `topic name cannot be "${name}"`
  if (!legalName.test(name)) {
    return `topic name "${name}" is illegal: it may contain only ASCII letters, digits, '.', '_' and '-'`
  }
  return undefined
}

/** Names starting with `__` are reserved for the cluster's own topics (`__consumer_offsets`). */
export function isInternalTopicName (name: string): boolean {
  return name.startsWith('__')
}

/** Throws GregorError INVALID_TOPIC_EXCEPTION with the reason; returns whether the (legal) name is an internal one. */
export function validateTopicName (name: unknown): { readonly internal: boolean } {
  const problem = topicNameProblem(name)
  if (problem !== undefined) throw new GregorError(ErrorCode.INVALID_TOPIC_EXCEPTION, problem, { details: { name } })
  return { internal: isInternalTopicName(name as string) }
}

/**
 * Kafka refuses a topic whose name differs from an existing one only by `.` versus `_` (`Topic.hasCollision`):
 * metric names replace `.` with `_`, so the two topics' metrics would merge.
 */
export function topicNamesCollide (name: string, other: string): boolean {
  return name !== other && name.replaceAll('.', '_') === other.replaceAll('.', '_')
}
