import { ErrorCode, GregorError } from '@gregor/common'
import { describe, expect, test } from 'vitest'
import { throwTopicFailures } from './admin.js'
import { parseBootstrapServers } from './cluster-connection.js'
import { isStaleMetadataError, responseError, transportError } from './response-error.js'

function caught (fn: () => unknown): GregorError {
  try { fn() } catch (error) { if (error instanceof GregorError) return error; throw error }
  throw new Error('expected a throw')
}

describe('responseError', () => {
  test('"" and absent codes are success', () => {
    expect(responseError('', 'x')).toBeUndefined()
    expect(responseError(undefined, undefined)).toBeUndefined()
  })

  test('a known code keeps its name, retriability, message and details', () => {
    const error = responseError('NOT_LEADER_OR_FOLLOWER', 'moved', { topic: 't', partition: 1 })
    expect(error).toMatchObject({ code: ErrorCode.NOT_LEADER_OR_FOLLOWER, retriable: true, message: 'moved', details: { topic: 't', partition: 1 } })
    expect(responseError('TOPIC_ALREADY_EXISTS', '')).toMatchObject({ retriable: false, message: 'TOPIC_ALREADY_EXISTS' })
  })

  test('an unknown code becomes UNKNOWN_SERVER_ERROR, not retriable, with the raw code kept', () => {
    expect(responseError('SOME_FUTURE_CODE', 'no')).toMatchObject({
      code: ErrorCode.UNKNOWN_SERVER_ERROR, retriable: false, details: { errorCode: 'SOME_FUTURE_CODE' },
    })
  })
})

describe('transportError', () => {
  test('a deadline is a retriable timeout marked as transport', () => {
    const error = transportError(Object.assign(new Error('4 DEADLINE_EXCEEDED'), { code: 4 }), { address: 'a:1' })
    expect(error).toMatchObject({ code: ErrorCode.REQUEST_TIMED_OUT, retriable: true, message: 'request timed out', details: { transport: true, grpcCode: 4, address: 'a:1' } })
  })

  test('an unreachable broker is retriable and says so; a GregorError passes through', () => {
    const error = transportError(Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 }))
    expect(error.message).toContain('broker unreachable')
    const original = new GregorError(ErrorCode.SHUTTING_DOWN, 'closed')
    expect(transportError(original)).toBe(original)
  })

  test('stale metadata: leader moves, unknown partitions and transport failures, not domain errors', () => {
    expect(isStaleMetadataError(responseError('FENCED_LEADER_EPOCH', ''))).toBe(true)
    expect(isStaleMetadataError(responseError('UNKNOWN_TOPIC_OR_PARTITION', ''))).toBe(true)
    // KIP-516: the topic was deleted, or re-created under its name; retriable once metadata is refreshed.
    expect(responseError('UNKNOWN_TOPIC_ID', '')).toMatchObject({ retriable: true })
    expect(isStaleMetadataError(responseError('UNKNOWN_TOPIC_ID', ''))).toBe(true)
    expect(isStaleMetadataError(responseError('INCONSISTENT_TOPIC_ID', ''))).toBe(true)
    expect(isStaleMetadataError(transportError(new Error('x')))).toBe(true)
    expect(isStaleMetadataError(responseError('NOT_ENOUGH_REPLICAS', ''))).toBe(false)
    expect(isStaleMetadataError(new Error('x'))).toBe(false)
  })
})

describe('throwTopicFailures', () => {
  test('no failure, no throw', () => {
    expect(() => { throwTopicFailures([{ name: 'a', errorCode: '' }], ['a']) }).not.toThrow()
  })

  test('one failed topic throws its own code', () => {
    const error = caught(() => { throwTopicFailures([{ name: 'a', errorCode: 'TOPIC_ALREADY_EXISTS', errorMessage: 'exists' }], ['a']) })
    expect(error).toMatchObject({ code: ErrorCode.TOPIC_ALREADY_EXISTS, message: 'exists', details: { topic: 'a' } })
  })

  test('several failures, and topics the response left out, are all listed', () => {
    const error = caught(() => {
      throwTopicFailures([{ name: 'a', errorCode: 'INVALID_REPLICATION_FACTOR' }, { name: 'b', errorCode: '' }], ['a', 'b', 'c'])
    })
    expect(error.code).toBe(ErrorCode.INVALID_REPLICATION_FACTOR)
    expect(error.details.failures).toEqual([
      { topic: 'a', code: 'INVALID_REPLICATION_FACTOR', message: 'INVALID_REPLICATION_FACTOR' },
      { topic: 'c', code: 'UNKNOWN_SERVER_ERROR', message: 'no result for topic' },
    ])
  })
})

describe('parseBootstrapServers', () => {
  test('splits, trims and keeps host:port entries, IPv6 in brackets', () => {
    expect(parseBootstrapServers(' a:9092, b:1 ,[::1]:9 ')).toEqual(['a:9092', 'b:1', '[::1]:9'])
  })

  test('lists every problem at once', () => {
    const error = caught(() => parseBootstrapServers('a, b:0,c:99999'))
    expect(error.code).toBe(ErrorCode.INVALID_CONFIG)
    expect(error.details.problems).toHaveLength(3)
    expect(caught(() => parseBootstrapServers('')).details.problems).toEqual(['no bootstrap servers given (host:port, comma-separated)'])
  })
})

describe('refusals of a whole call', () => {
  test('PERMISSION_DENIED / UNAUTHENTICATED naming a Kafka error become that error, not a retriable transport failure', () => {
    const denied = transportError({ code: 7, details: 'CLUSTER_AUTHORIZATION_FAILED: not authorized to DESCRIBE the cluster' })
    expect(denied).toMatchObject({ code: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, message: 'not authorized to DESCRIBE the cluster', retriable: false })
    expect(denied.details.transport).toBeUndefined()
    expect(transportError({ code: 16, details: 'SASL_AUTHENTICATION_FAILED: session expired' }).code).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED)
    expect(transportError({ code: 7, details: 'no kafka code here' }).details.transport).toBe(true)
  })
})
