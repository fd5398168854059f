/**
 * @gregor/kafka-protocol: Kafka's wire protocol, pure (no I/O). Headers and bodies for the APIs and versions in
 * SUPPORTED_VERSIONS, generated from `scripts/definitions/*.def` (`npm run generate -w @gregor/kafka-protocol`).
 * Listeners decode with `decodeRequestHeader` + `decodeRequest` and answer with `encodeResponse`; the request
 * encoder and response decoder serve tests and a Kafka-speaking test client.
 */
export {
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  decodeResponseHeader,
  encodeRequest,
  encodeResponse,
  isSupportedVersion,
  type RequestHeader,
  type RequestHeaderFields,
  type ResponseHeaderFields,
} from './kafka-codec.js'
export { KAFKA_NONE, KAFKA_UNKNOWN_SERVER_ERROR, kafkaErrorCode, kafkaErrorCodeOf } from './kafka-error-code.js'
export { KafkaReader } from './kafka-reader.js'
export { KafkaWriter } from './kafka-writer.js'
export {
  API_NAMES,
  ApiKey,
  type ApiVersionRange,
  FIRST_FLEXIBLE_VERSIONS,
  isApiKey,
  type RequestBodies,
  type ResponseBodies,
  SUPPORTED_VERSIONS,
} from './generated/apis.js'
export type * from './generated/types.js'
