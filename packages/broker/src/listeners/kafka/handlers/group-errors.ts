/**
 * What the group handlers share: a caught failure as Kafka's error code and message, a domain code ('' for none) as
 * Kafka's, and a client's host as Kafka reports it (`/127.0.0.1`).
 */
import { type ErrorCode, isGregorError } from '@gregor/common'
import { KAFKA_NONE, KAFKA_UNKNOWN_SERVER_ERROR, kafkaErrorCode } from '@gregor/kafka-protocol'

export function kafkaCode (code: ErrorCode | ''): number {
  return code === '' ? KAFKA_NONE : kafkaErrorCode(code)
}

/** A caught failure: a GregorError's code and message; anything else UNKNOWN_SERVER_ERROR. */
export function failureOf (error: unknown): { code: number; message: string; gregorCode: ErrorCode | undefined } {
  if (isGregorError(error)) return { code: kafkaErrorCode(error.code), message: error.message, gregorCode: error.code }
  return { code: KAFKA_UNKNOWN_SERVER_ERROR, message: error instanceof Error ? error.message : String(error), gregorCode: undefined }
}

/** `127.0.0.1:53312` / `[::1]:53312` → `/127.0.0.1` / `/::1`. */
export function clientHostOf (peer: string): string {
  const host = peer.startsWith('[') ? peer.slice(1, peer.indexOf(']')) : peer.slice(0, Math.max(0, peer.lastIndexOf(':')))
  return `/${host === '' ? peer : host}`
}
