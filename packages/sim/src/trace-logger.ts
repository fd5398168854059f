/**
 * A `Logger` that writes a broker's info, warn and error lines into the simulation's event trace (with their fields,
 * compactly), so a failing seed's trace shows what each broker decided: elections, truncations, ISR changes, fencing.
 * Debug and trace lines are dropped: a run logs millions of them.
 */
import type { Logger } from '@gregor/common'

function compact (fields: Record<string, unknown>): string {
  const parts: string[] = []
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'err') {
      const error = value as { code?: unknown; message?: unknown } | undefined
      parts.push(`err=${String(error?.code ?? '')}:${String(error?.message ?? value)}`.slice(0, 160))
    } else if (value !== undefined && key !== 'component') {
      parts.push(`${key}=${typeof value === 'object' ? JSON.stringify(value) : String(value)}`.slice(0, 120))
    }
  }
  return parts.join(' ')
}

export function traceLogger (write: (line: string) => void, bindings: Record<string, unknown> = {}): Logger {
  const line = (level: string) => (fields: Record<string, unknown>, message: string): void => {
    const component = typeof bindings.component === 'string' ? `${bindings.component}: ` : ''
    write(`${level === 'info' ? '' : `${level} `}${component}${message} ${compact({ ...bindings, ...fields })}`)
  }
  return {
    child: (more) => traceLogger(write, { ...bindings, ...more }),
    trace: () => {},
    debug: () => {},
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
  }
}
