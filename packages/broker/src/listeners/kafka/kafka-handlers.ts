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
import { handleApiVersions } from './handlers/api-versions.js'
import { handleMetadata } from './handlers/metadata.js'
import type { KafkaBrokerApi } from './kafka-broker-api.js'

export interface KafkaRequestContext {
  readonly apiVersion: number
  readonly correlationId: number
  readonly clientId: string | null
  /** `host:port` of the client. */
  readonly peer: string
}

export type KafkaHandler<K extends ApiKey> = (
  request: RequestBodies[K], context: KafkaRequestContext,
) => ResponseBodies[K] | undefined | Promise<ResponseBodies[K] | undefined>

export type KafkaHandlers = { readonly [K in ApiKey]?: KafkaHandler<K> }

/** The handlers of the APIs served today. An API without a handler is advertised but closes the connection (logged). */
export function kafkaHandlers (api: KafkaBrokerApi): KafkaHandlers {
  return {
    [Api.ApiVersions]: handleApiVersions,
    [Api.Metadata]: (request, context) => handleMetadata(api, request, context),
  }
}
