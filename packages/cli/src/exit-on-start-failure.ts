/**
 * How `gregor broker` and `gregor voter` end when their server could not start (a port taken, a data directory it
 * cannot write): the server has already undone what it started, so log it, say it on stderr and exit with code 1.
 * Exiting explicitly matters: a failed start may leave handles behind that would keep the process alive.
 */
import type { Logger } from 'pino'

export function exitOnStartFailure (logger: Logger, command: string, error: unknown): never {
  logger.fatal({ err: error }, 'failed to start')
  process.stderr.write(`gregor ${command}: ${error instanceof Error ? error.message : String(error)}\n`)
  logger.flush()
  process.exit(1)
}
