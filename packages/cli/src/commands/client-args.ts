/**
 * Argument handling shared by the client commands (topics, produce, consume, cluster, bench produce|consume): the
 * bootstrap servers from `-b`/`--bootstrap-server` or `GREGOR_BOOTSTRAP_SERVERS`, plus the generic parsing and
 * exit-code convention of `command-args.ts`.
 */
import { isGregorError } from '@gregor/common'
import { parseBootstrapServers } from '@gregor/client'
import { type Options, UsageError } from './command-args.js'

export { UsageError, integerFlag, parseCommandArgs, runClientCommand } from './command-args.js'

/** The option every client command takes. */
export const bootstrapOption = { 'bootstrap-server': { type: 'string', short: 'b' } } as const satisfies Options

/** `--bootstrap-server` or else `GREGOR_BOOTSTRAP_SERVERS`; a usage error listing what is wrong with them. */
export function bootstrapServers (flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const value = flag ?? env.GREGOR_BOOTSTRAP_SERVERS
  if (value === undefined || value.trim() === '') {
    throw new UsageError(['no bootstrap servers: pass -b host:port[,host:port...] or set GREGOR_BOOTSTRAP_SERVERS'])
  }
  try {
    return parseBootstrapServers(value)
  } catch (error) {
    const problems = isGregorError(error) && Array.isArray(error.details.problems) ? error.details.problems.map(String) : [String(error)]
    throw new UsageError(problems)
  }
}
