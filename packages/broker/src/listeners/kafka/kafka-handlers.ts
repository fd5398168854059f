/**
 * The Kafka listener's dispatch table: one handler per API key, each in its own file under `handlers/`, bound to the
 * broker through `KafkaBrokerApi`. A handler gets the decoded request body and the request's context and returns the
 * response body, or `undefined` for a request Kafka does not answer (Produce with acks=0).
 *
 * Contract: a handler answers every expected failure with the Kafka error code in its response; a handler that throws
 * is a bug, and the connection it served is closed with an error log line (the broker keeps running).
 */
import type { ApiKey, RequestBodies, ResponseBodies } from '@gregor/kafka-protocol'
import { ApiKey as Api } from '@gregor/kafka-protocol'
import { aclHandlers } from './acl-handlers.js'
import { adminHandlers } from './admin-handlers.js'
import { dataHandlers } from './data-handlers.js'
import { groupHandlers } from './group-handlers.js'
import { advertisedApis, handleApiVersions } from './handlers/api-versions.js'
import { handleMetadata } from './handlers/metadata.js'
import { handleSaslAuthenticate } from './handlers/sasl-authenticate.js'
import { handleSaslHandshake } from './handlers/sasl-handshake.js'
import type { KafkaBrokerApi } from './kafka-broker-api.js'
import type { SaslSession } from './sasl/sasl-session.js'

export interface KafkaRequestContext {
  readonly apiVersion: number
  readonly correlationId: number
  readonly clientId: string | null
  /** `host:port` of the client. */
  readonly peer: string
  /**
   * The client's address alone in one canonical text form (security/authorizer.ts `canonicalHost`: IPv4-mapped IPv6
   * as IPv4), what ACL hosts are compared with. Absent when a test calls a handler directly.
   */
  readonly peerHost?: string
  /**
   * Who the connection is (Kafka's `KafkaPrincipal` as text): `User:<name>` once SASL authentication succeeded,
   * `User:ANONYMOUS` on a listener without SASL (for an authorizer to decide on). Absent when a test calls a handler
   * directly.
   */
  readonly principal?: string
  /** The connection's SASL state on a SASL_PLAINTEXT / SASL_SSL listener; absent on other listeners. */
  readonly sasl?: SaslSession
  /**
   * Asks the listener to close this connection once this request's answer (if any) and every earlier one are written,
   * as Kafka does for an error it cannot answer (a failed acks=0 Produce); `errorCodes` (Kafka wire codes) are counted
   * as the request's errors. Absent when a test calls a handler directly.
   */
  readonly closeAfterResponse?: (reason: string, fields?: Readonly<Record<string, unknown>>, errorCodes?: readonly number[]) => void
}

export type KafkaHandler<K extends ApiKey> = (
  request: RequestBodies[K], context: KafkaRequestContext,
) => ResponseBodies[K] | undefined | Promise<ResponseBodies[K] | undefined>

export type KafkaHandlers = { readonly [K in ApiKey]?: KafkaHandler<K> }

/**
 * Every API this listener serves: one table per family (data, admin, groups), each bound to its part of the broker
 * API. ApiVersions advertises exactly these keys, so a client never picks an API we would refuse.
 */
export function kafkaHandlers (api: KafkaBrokerApi): KafkaHandlers {
  const served: KafkaHandlers = {
    [Api.Metadata]: (request, context) => handleMetadata(api.metadata, request, context),
    ...dataHandlers(api.data),
    ...adminHandlers(api.admin),
    ...groupHandlers(api.groups),
    ...aclHandlers(api.acls),
    // Served (and advertised) on every listener, as Kafka does; without SASL on the listener they answer ILLEGAL_SASL_STATE.
    [Api.SaslHandshake]: handleSaslHandshake,
    [Api.SaslAuthenticate]: handleSaslAuthenticate,
  }
  const advertised = advertisedApis(Object.keys(served).map(Number) as ApiKey[])
  return { ...served, [Api.ApiVersions]: (request, context) => handleApiVersions(request, context, advertised) }
}
