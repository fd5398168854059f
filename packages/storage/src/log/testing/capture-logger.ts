/**
 * A `Logger` that records every line (level, message, bindings merged with fields) so tests can assert on what the
 * log reported, e.g. that recovery logged 'truncated corrupt tail' with the position.
 */
import type { Logger } from '@gregor/common'

export interface LogLine {
  readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error'
  readonly message: string
  readonly fields: Readonly<Record<string, unknown>>
}

export function captureLogger (lines: LogLine[] = [], bindings: Record<string, unknown> = {}): Logger & { lines: LogLine[] } {
  const at = (level: LogLine['level']) => (fields: Record<string, unknown>, message: string): void => {
    lines.push({ level, message, fields: { ...bindings, ...fields } })
  }
  return {
    lines,
    child: (more) => captureLogger(lines, { ...bindings, ...more }),
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  }
}
