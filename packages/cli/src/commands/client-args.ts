/**
 * Argument handling shared by the client commands (topics, produce, consume, cluster, bench produce|consume): the
 * bootstrap servers from `-b`/`--bootstrap-server` or `GREGOR_BOOTSTRAP_SERVERS` (else the `gregor dev` cluster), plus the generic parsing and
 * exit-code convention of `command-args.ts`.
 */
import { isGregorError } from '@gregor/common'
import { parseBootstrapServers } from '@gregor/client'
import { type Options, UsageError } from './command-args.js'

export { UsageError, integerFlag, parseCommandArgs, runClientCommand } from './command-args.js'

/** The option every client command takes. */
export const bootstrapOption = { 'bootstrap-server': { type: 'string', short: 'b' } } as const satisfies Options

/** The first gRPC client port of `gregor dev` (brokers 1-3 on it and the next two). */
export const defaultDevClientPort = 9292
/** The `gregor dev` cluster's gRPC listeners: where the CLI goes when told nowhere else, as `rpk` goes to localhost. */
export const devBootstrapServers = [0, 1, 2].map((i) => `127.0.0.1:${defaultDevClientPort + i}`).join(',')

/**
 * `--bootstrap-server`, else `GREGOR_BOOTSTRAP_SERVERS`, else the `gregor dev` cluster; a usage error listing what is
 * wrong with them.
 */
export function bootstrapServers (flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const given = flag ?? env.GREGOR_BOOTSTRAP_SERVERS
  const value = given === undefined || given.trim() === '' ? devBootstrapServers : given
  try {
    return parseBootstrapServers(value)
  } catch (error) {
    const problems = isGregorError(error) && Array.isArray(error.details.problems) ? error.details.problems.map(String) : [String(error)]
    throw new UsageError(problems)
  }
}
