/**
 * The one error class for operating errors: a Kafka-named `code`, a `retriable` flag and structured `details`.
 *
 * Programmer errors (broken invariants) are not GregorErrors: they are `node:assert` failures that crash the process
 * rather than corrupt data. `isGregorError` is a brand check, so errors that crossed a module or realm boundary are
 * still recognised.
 */
import { type ErrorCode, isRetriableCode } from './error-code.js'

const brand = Symbol.for('gregor.error')

export interface GregorErrorOptions {
  readonly cause?: unknown
  readonly retriable?: boolean
  readonly details?: Readonly<Record<string, unknown>>
}

export class GregorError extends Error {
  override readonly name: string = 'GregorError'
  readonly code: ErrorCode
  readonly retriable: boolean
  readonly details: Readonly<Record<string, unknown>>
  readonly [brand] = true

  constructor (code: ErrorCode, message: string, options: GregorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.retriable = options.retriable ?? isRetriableCode(code)
    this.details = Object.freeze({ ...(options.details ?? {}) })
  }
}

export function isGregorError (error: unknown): error is GregorError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[brand] === true
}
