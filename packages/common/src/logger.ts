/**
 * The logging interface the packages depend on: the subset of pino's API they use.
 *
 * Only the CLI creates a root (pino) logger; everything else receives one and derives with
 * `child({ component })`. Messages are constant lower-case phrases; data goes in the first argument's fields.
 */
export interface Logger {
  child (bindings: Record<string, unknown>): Logger
  trace (fields: Record<string, unknown>, message: string): void
  debug (fields: Record<string, unknown>, message: string): void
  info (fields: Record<string, unknown>, message: string): void
  warn (fields: Record<string, unknown>, message: string): void
  error (fields: Record<string, unknown>, message: string): void
}

/** A logger that drops everything: the default in tests and simulations that do not capture logs. */
export const silentLogger: Logger = {
  child: () => silentLogger,
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
}
