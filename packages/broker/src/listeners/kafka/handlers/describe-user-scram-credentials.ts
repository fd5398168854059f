/**
 * DescribeUserScramCredentials (key 50, v0): the users with SCRAM credentials, with each credential's mechanism
 * (1 SCRAM-SHA-256, 2 SCRAM-SHA-512) and iteration count, never a salt or key; from this broker's metadata image.
 *
 * Kafka's rules kept here: null or empty `users` describes every user; a named user without credentials is
 * RESOURCE_NOT_FOUND; a name given twice is DUPLICATE_RESOURCE (once in the results).
 */
import { ErrorCode } from '@gregor/common'
import {
  type DescribeUserScramCredentialsRequest, type DescribeUserScramCredentialsResponse, KAFKA_NONE, kafkaErrorCode,
} from '@gregor/kafka-protocol'
import { type KafkaAdminApi, isAdminFailure } from '../kafka-admin-api.js'
import type { KafkaRequestContext } from '../kafka-handlers.js'
import { scramMechanismType } from './alter-user-scram-credentials.js'

export function handleDescribeUserScramCredentials (
  api: KafkaAdminApi, request: DescribeUserScramCredentialsRequest, _context: KafkaRequestContext,
): DescribeUserScramCredentialsResponse {
  const names = request.users?.map((user) => user.name) ?? null
  const duplicates = new Set((names ?? []).filter((name, i, all) => all.indexOf(name) !== i))
  const unique = names === null ? null : [...new Set(names)].filter((name) => !duplicates.has(name))
  const described = unique !== null && unique.length === 0 && duplicates.size > 0 ? [] : api.describeUserScramCredentials(unique)
  const results = [
    ...[...duplicates].map((user) => ({
      user, errorCode: kafkaErrorCode(ErrorCode.DUPLICATE_RESOURCE), errorMessage: 'cannot describe the same user twice in one request', credentialInfos: [],
    })),
    ...described.map((entry) => isAdminFailure(entry)
      ? { user: entry.user, errorCode: kafkaErrorCode(entry.error), errorMessage: entry.message, credentialInfos: [] }
      : {
          user: entry.user, errorCode: KAFKA_NONE, errorMessage: null,
          credentialInfos: entry.credentials.map(({ mechanism, iterations }) => ({ mechanism: scramMechanismType(mechanism), iterations })),
        }),
  ]
  return { throttleTimeMs: 0, errorCode: KAFKA_NONE, errorMessage: null, results }
}
