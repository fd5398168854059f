/**
 * Limits of a Kafka listener's connections: the type, frozen defaults (Kafka's where Kafka has the setting) and a
 * validator that lists every problem at once.
 *
 * Owns: nothing at run time. A connection never holds more than one partial frame (at most `socketRequestMaxBytes`)
 * plus what these limits allow: beyond them the listener stops reading that socket (ARCHITECTURE.md §4 Limits), it
 * does not refuse requests.
 */
import { ErrorCode, GregorError } from '@gregor/common'

export interface KafkaListenerConfig {
  /** Largest request frame, size prefix excluded (Kafka's `socket.request.max.bytes`); a larger one closes the connection. */
  readonly socketRequestMaxBytes: number
  /** Requests of one connection being handled at once; beyond it the connection is not read until one is answered. */
  readonly maxInFlightRequestsPerConnection: number
  /**
   * Bytes one connection may hold: requests read and not yet answered, answers waiting for their turn (answers go out
   * in request order) and answers the socket has not flushed. Beyond it the connection is not read (socket paused)
   * until it is below again; a partial frame does not count, it is bounded by `socketRequestMaxBytes`.
   */
  readonly connectionBufferedBytesMax: number
}

const MiB = 1024 * 1024
/** Kafka's int32 size prefix bounds every frame. */
const INT32_MAX = 2 ** 31 - 1

export const defaultKafkaListenerConfig: KafkaListenerConfig = Object.freeze({
  socketRequestMaxBytes: 100 * MiB,
  maxInFlightRequestsPerConnection: 100,
  connectionBufferedBytesMax: 100 * MiB,
})

/** Every problem with `config`, one sentence each; empty when valid. */
export function kafkaListenerConfigProblems (config: KafkaListenerConfig): string[] {
  const problems: string[] = []
  for (const [name, value] of Object.entries(config)) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      problems.push(`${name} must be a positive integer, got ${String(value)}`)
    }
  }
  if (config.socketRequestMaxBytes > INT32_MAX) problems.push(`socketRequestMaxBytes must be at most ${INT32_MAX} (an int32 frame size)`)
  return problems
}

/** Throws GregorError INVALID_CONFIG listing every problem. */
export function validateKafkaListenerConfig (config: KafkaListenerConfig): KafkaListenerConfig {
  const problems = kafkaListenerConfigProblems(config)
  if (problems.length > 0) {
    throw new GregorError(ErrorCode.INVALID_CONFIG, `invalid kafka listener configuration:\n  - ${problems.join('\n  - ')}`, { details: { problems } })
  }
  return Object.freeze({ ...config })
}
