/**
 * SaslHandshake (key 17, v0-1): the client names a mechanism; the answer lists the listener's enabled mechanisms.
 *
 * Kafka's rules kept: on a listener without SASL, or once authenticated (no KIP-368 re-authentication here), the
 * answer is ILLEGAL_SASL_STATE; a mechanism the listener does not enable is UNSUPPORTED_SASL_MECHANISM and the
 * connection closes after the answer. Version 0 means the SASL tokens follow as raw frames without SaslAuthenticate;
 * Gregor reads only SaslAuthenticate-framed tokens (what librdkafka and KafkaJS use when the broker offers v1), so a
 * v0 handshake is answered UNSUPPORTED_VERSION and the connection closed.
 */
import { ErrorCode } from '@gregor/common'
import { type SaslHandshakeRequest, type SaslHandshakeResponse, KAFKA_NONE, kafkaErrorCode } from '@gregor/kafka-protocol'
import type { KafkaRequestContext } from '../kafka-handlers.js'

export function handleSaslHandshake (request: SaslHandshakeRequest, context: KafkaRequestContext): SaslHandshakeResponse {
  const session = context.sasl
  if (session === undefined) return { errorCode: kafkaErrorCode(ErrorCode.ILLEGAL_SASL_STATE), mechanisms: [] }
  const mechanisms = [...session.enabledMechanisms]
  if (context.apiVersion === 0) {
    const errorCode = kafkaErrorCode(ErrorCode.UNSUPPORTED_VERSION)
    context.closeAfterResponse?.('SaslHandshake v0 (raw SASL tokens) is not supported', {}, [errorCode])
    return { errorCode, mechanisms }
  }
  const step = session.handshake(request.mechanism)
  if (step.ok) return { errorCode: KAFKA_NONE, mechanisms }
  if (session.state === 'failed') {
    // The mechanism is the client's configuration, not a secret; bounded so a hostile one cannot flood the log.
    context.closeAfterResponse?.(step.reason, { mechanism: request.mechanism.slice(0, 64) })
  }
  return { errorCode: kafkaErrorCode(step.code), mechanisms }
}
