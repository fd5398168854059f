import { ErrorCode, GregorError } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { KAFKA_UNKNOWN_SERVER_ERROR, kafkaErrorCode, kafkaErrorCodeOf } from './kafka-error-code.js'

describe('kafkaErrorCode', () => {
  test("Kafka's numbers for codes of the same name (Errors.java)", () => {
    expect(kafkaErrorCode(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)).toBe(3)
    expect(kafkaErrorCode(ErrorCode.LEADER_NOT_AVAILABLE)).toBe(5)
    expect(kafkaErrorCode(ErrorCode.NOT_LEADER_OR_FOLLOWER)).toBe(6)
    expect(kafkaErrorCode(ErrorCode.UNSUPPORTED_VERSION)).toBe(35)
    expect(kafkaErrorCode(ErrorCode.INVALID_REQUEST)).toBe(42)
    expect(kafkaErrorCode(ErrorCode.FENCED_LEADER_EPOCH)).toBe(74)
    expect(kafkaErrorCode(ErrorCode.INVALID_REGULAR_EXPRESSION)).toBe(128)
  })

  test('every Gregor code has a Kafka code, except the ones Kafka lacks, which are UNKNOWN_SERVER_ERROR', () => {
    // A new ErrorCode needs a decision here: its Kafka number, or a place in this list with the reason in the table.
    const withoutKafkaCode: readonly ErrorCode[] = [ErrorCode.UNKNOWN_SERVER_ERROR, ErrorCode.SHUTTING_DOWN]
    for (const code of Object.values(ErrorCode)) {
      if (withoutKafkaCode.includes(code)) expect(kafkaErrorCode(code), code).toBe(KAFKA_UNKNOWN_SERVER_ERROR)
      else expect(kafkaErrorCode(code), code).toBeGreaterThan(0)
    }
  })

  test('a caught error: its GregorError code, anything else UNKNOWN_SERVER_ERROR', () => {
    expect(kafkaErrorCodeOf(new GregorError(ErrorCode.NOT_CONTROLLER, 'moved'))).toBe(41)
    expect(kafkaErrorCodeOf(new Error('bug'))).toBe(-1)
    expect(kafkaErrorCodeOf('text')).toBe(-1)
  })
})
