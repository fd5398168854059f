/**
 * AlterUserScramCredentials (key 51, v0): upsert and delete users' SCRAM credentials (`kafka-configs --alter
 * --add-config 'SCRAM-SHA-256=[...]' --entity-type users`, the Java AdminClient). An upsertion carries the client's
 * salt and salted password; the controller keeps StoredKey and ServerKey only (see alter-user-scram-credentials.ts in
 * packages/metadata for the rules and codes).
 *
 * Kafka's wire rules kept here: mechanism 1 is SCRAM-SHA-256, 2 SCRAM-SHA-512, anything else
 * UNSUPPORTED_SASL_MECHANISM; one result per user named, in first-seen order.
 */
import { type AlterUserScramCredentialsRequest, type AlterUserScramCredentialsResponse, KAFKA_NONE, kafkaErrorCode } from '@gregor/kafka-protocol'
import type { KafkaAdminApi } from '../kafka-admin-api.js'
import type { KafkaRequestContext } from '../kafka-handlers.js'

/** Kafka's ScramMechanism type ids. */
const mechanismNames: ReadonlyMap<number, string> = new Map([[1, 'SCRAM-SHA-256'], [2, 'SCRAM-SHA-512']])

export function scramMechanismName (type: number): string {
  return mechanismNames.get(type) ?? `UNKNOWN(${type})`
}

export function scramMechanismType (name: string): number {
  for (const [type, known] of mechanismNames) if (known === name) return type
  return 0
}

export async function handleAlterUserScramCredentials (
  api: KafkaAdminApi, request: AlterUserScramCredentialsRequest, _context: KafkaRequestContext,
): Promise<AlterUserScramCredentialsResponse> {
  const outcomes = await api.alterUserScramCredentials(
    request.deletions.map(({ name, mechanism }) => ({ user: name, mechanism: scramMechanismName(mechanism) })),
    request.upsertions.map(({ name, mechanism, iterations, salt, saltedPassword }) => ({
      user: name, mechanism: scramMechanismName(mechanism), iterations, salt, saltedPassword,
    })),
  )
  return {
    throttleTimeMs: 0,
    results: outcomes.map(({ user, failure }) => failure === undefined
      ? { user, errorCode: KAFKA_NONE, errorMessage: null }
      : { user, errorCode: kafkaErrorCode(failure.error), errorMessage: failure.message }),
  }
}
