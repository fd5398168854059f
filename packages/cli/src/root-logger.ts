/**
 * The one root logger of a process, created by the command that runs it (broker, voter); everything else gets
 * `logger.child({ component })`.
 *
 * JSON lines on stdout, as log shippers want them; on a terminal, pino-pretty renders the same records readably
 * (synchronously, in this thread, so a crash loses no line). `GREGOR_LOG_FORMAT=json|pretty` overrides the choice.
 */
import { type LoggerOptions, type Logger as PinoLogger, pino } from 'pino'
import pretty from 'pino-pretty'

export interface LogStream extends NodeJS.WritableStream { readonly isTTY?: boolean }

export function createRootLogger (options: LoggerOptions, stream: LogStream = process.stdout, format = process.env.GREGOR_LOG_FORMAT): PinoLogger {
  const tty = stream.isTTY === true
  if ((format ?? (tty ? 'pretty' : 'json')) !== 'pretty') return stream === process.stdout ? pino(options) : pino(options, stream)
  return pino(options, pretty({ destination: stream, colorize: tty, sync: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,clusterId' }))
}
