/**
 * How the log reports failures of the file system: every I/O error becomes a `GregorError` with Kafka's
 * KAFKA_STORAGE_ERROR code (not retriable: the broker takes the partition offline), the original error as `cause`.
 */
import { ErrorCode, GregorError } from '@gregor/common'

export function storageError (message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}): GregorError {
  return new GregorError(ErrorCode.KAFKA_STORAGE_ERROR, message, { ...options, retriable: false })
}

/** The file system's errno code of `error` ('ENOSPC', 'EIO', ...) as a details field, empty when it has none. */
export function errnoDetails (error: unknown): { errno?: string } {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined
  return typeof code === 'string' ? { errno: code } : {}
}

/** Whether `error` is a Node system error with the given errno code (ENOENT, EEXIST, ...). */
export function hasErrno (error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code
}
