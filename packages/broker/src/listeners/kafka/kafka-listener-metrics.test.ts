// The label vocabulary of the Kafka listener's metrics: API names, Kafka error names, and the errors of an answer.
import { ApiKey } from '@gregor/kafka-protocol'
import { describe, expect, test } from 'vitest'
import { KAFKA_UNKNOWN_API, kafkaApiLabel, kafkaErrorName, kafkaTlsHandshakeFailureReason, responseErrorNames } from './kafka-listener-metrics.js'

describe('labels', () => {
  test('an API key is its codec name; a key we do not know is one label', () => {
    expect(kafkaApiLabel(ApiKey.Produce)).toBe('Produce')
    expect(kafkaApiLabel(ApiKey.ConsumerGroupHeartbeat)).toBe('ConsumerGroupHeartbeat')
    expect([24, -1, 999].map(kafkaApiLabel)).toEqual([KAFKA_UNKNOWN_API, KAFKA_UNKNOWN_API, KAFKA_UNKNOWN_API])
  })

  test('a wire error code is its Kafka name; a shared code keeps Kafka\'s own name; one without a name is code_<n>', () => {
    expect(kafkaErrorName(6)).toBe('NOT_LEADER_OR_FOLLOWER')
    expect(kafkaErrorName(-1)).toBe('UNKNOWN_SERVER_ERROR')
    expect(kafkaErrorName(41)).toBe('NOT_CONTROLLER') // not Gregor's PROPOSAL_DROPPED, which answers as 41 too
    expect(kafkaErrorName(53)).toBe('code_53')
  })

  test('a TLS handshake failure is one of five reasons, whatever OpenSSL code it carries', () => {
    expect(kafkaTlsHandshakeFailureReason('ERR_SSL_WRONG_VERSION_NUMBER', undefined)).toBe('not_tls') // a plaintext Kafka client
    expect(kafkaTlsHandshakeFailureReason('ERR_SSL_HTTP_REQUEST', undefined)).toBe('not_tls')
    expect(kafkaTlsHandshakeFailureReason('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE', undefined)).toBe('certificate')
    expect(kafkaTlsHandshakeFailureReason('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', undefined)).toBe('certificate')
    expect(kafkaTlsHandshakeFailureReason('ECONNRESET', 'CERT_HAS_EXPIRED')).toBe('certificate') // node refused it after the handshake
    expect(kafkaTlsHandshakeFailureReason('ERR_TLS_HANDSHAKE_TIMEOUT', undefined)).toBe('timeout')
    expect(kafkaTlsHandshakeFailureReason('ECONNRESET', undefined)).toBe('disconnected')
    expect(kafkaTlsHandshakeFailureReason('ERR_SSL_NO_SHARED_CIPHER', undefined)).toBe('other')
    expect(kafkaTlsHandshakeFailureReason(undefined, undefined)).toBe('other')
  })
})

describe('responseErrorNames', () => {
  test('every non-zero errorCode, top level and per partition; record bytes are not entered', () => {
    const records = Buffer.alloc(64, 0xff)
    // A Fetch answer's shape (the walk takes any body, so this one is not tied to a codec version).
    const partition = (index: number, errorCode: number): Record<string, unknown> => ({
      partitionIndex: index, errorCode, highWatermark: 0, lastStableOffset: 0, logStartOffset: 0, abortedTransactions: null, preferredReadReplica: -1, records,
      divergingEpoch: null, currentLeader: null, snapshotId: null,
    })
    const response = {
      throttleTimeMs: 0, errorCode: 0, sessionId: 0,
      responses: [
        { topic: 'a', partitions: [partition(0, 0), partition(1, 6), partition(2, 3)] },
        { topic: 'b', partitions: [partition(0, 6)] },
      ],
    }
    expect(responseErrorNames(response)).toEqual(['NOT_LEADER_OR_FOLLOWER', 'UNKNOWN_TOPIC_OR_PARTITION', 'NOT_LEADER_OR_FOLLOWER'])
    expect(responseErrorNames({ ...response, errorCode: 7, responses: [] })).toEqual(['REQUEST_TIMED_OUT'])
    expect(responseErrorNames(undefined)).toEqual([])
  })
})
