/**
 * SaslAuthenticate (key 36, v0-2): one SASL token of the chosen mechanism in, the server's token out.
 *
 * Kafka's rules kept: before a handshake, after a failure, on a listener without SASL or once authenticated the
 * answer is ILLEGAL_SASL_STATE; a failed exchange answers SASL_AUTHENTICATION_FAILED with Kafka's message (which
 * never says whether the user exists) and the connection closes after the answer, logged with the peer, the user name
 * the client gave and the reason (never a password or proof). `sessionLifetimeMs` is 0: no KIP-368 re-authentication.
 */
import { ErrorCode } from '@gregor/common'
import { type SaslAuthenticateRequest, type SaslAuthenticateResponse, KAFKA_NONE, kafkaErrorCode } from '@gregor/kafka-protocol'
import type { KafkaRequestContext } from '../kafka-handlers.js'

const empty = Buffer.alloc(0)

export async function handleSaslAuthenticate (request: SaslAuthenticateRequest, context: KafkaRequestContext): Promise<SaslAuthenticateResponse> {
  const session = context.sasl
  if (session === undefined) {
    return { errorCode: kafkaErrorCode(ErrorCode.ILLEGAL_SASL_STATE), errorMessage: 'SASL is not enabled on this listener', authBytes: empty, sessionLifetimeMs: 0 }
  }
  const step = await session.authenticate(request.authBytes)
  if (step.ok) {
    return { errorCode: KAFKA_NONE, errorMessage: null, authBytes: Buffer.from(step.token), sessionLifetimeMs: 0 }
  }
  if (session.state === 'failed') {
    context.closeAfterResponse?.('sasl authentication failed', {
      mechanism: session.mechanism, user: step.user?.slice(0, 255), failure: step.reason,
    })
  }
  return { errorCode: kafkaErrorCode(step.code), errorMessage: step.message, authBytes: empty, sessionLifetimeMs: 0 }
}
