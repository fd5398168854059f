/**
 * Argument handling shared by the client commands (topics, produce, consume, cluster, bench produce|consume): the
 * bootstrap servers from `-b`/`--bootstrap-server` or `GREGOR_BOOTSTRAP_SERVERS` (else the `gregor dev` cluster), plus the generic parsing and
 * exit-code convention of `command-args.ts`.
 *
 * TLS: `--ssl-ca F`, `--ssl-cert F`, `--ssl-key F` (librdkafka's ssl.ca.location, ssl.certificate.location,
 * ssl.key.location) are taken out of any client command's arguments by `takeTlsFlags` (main.ts), their files read
 * once, and every client the command makes gets them through `tlsOption()`.
 */
import { isGregorError } from '@gregor/common'
import { Admin, type TlsConfig, parseBootstrapServers, readTlsFiles } from '@gregor/client'
import { type Options, UsageError } from './command-args.js'

export { UsageError, integerFlag, parseCommandArgs, runAction, runClientCommand } from './command-args.js'

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

/** This process's client TLS (set once by `takeTlsFlags`); undefined: plaintext. */
let clientTls: TlsConfig | undefined

/** Runs `body` with an Admin on the cluster (`-b` or the default, with the command's TLS flags), closed afterwards. */
export async function withAdmin (server: string | undefined, body: (admin: Admin) => Promise<number>): Promise<number> {
  const admin = new Admin({ bootstrapServers: bootstrapServers(server), ...tlsOption() })
  try {
    return await body(admin)
  } finally {
    admin.close()
  }
}

/** The `tls` setting of every client a command makes: spread it into the client's config. */
export function tlsOption (): { readonly tls?: TlsConfig } {
  return clientTls === undefined ? {} : { tls: clientTls }
}

const tlsFlags = { '--ssl-ca': 'caFile', '--ssl-cert': 'certFile', '--ssl-key': 'keyFile' } as const

/**
 * Removes `--ssl-ca/--ssl-cert/--ssl-key F` (or `--flag=F`) from `argv`, reads the files and keeps them for
 * `tlsOption()`; the rest of `argv` is returned for the command's own parsing. Any of the flags turns TLS on.
 */
export async function takeTlsFlags (argv: readonly string[]): Promise<string[]> {
  const files: { caFile?: string; certFile?: string; keyFile?: string } = {}
  const rest: string[] = []
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] as string
    const [flag, inline] = arg.startsWith('--ssl-') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined]
    // Own keys only: a topic or user named `toString` is an argument, not an inherited property.
    const field = Object.hasOwn(tlsFlags, flag) ? (tlsFlags as Record<string, 'caFile' | 'certFile' | 'keyFile'>)[flag] : undefined
    if (field === undefined) { rest.push(arg); continue }
    const value = inline ?? argv[++index]
    if (value === undefined || value === '') throw new UsageError([`${flag} needs a file`])
    files[field] = value
  }
  if (Object.keys(files).length > 0) {
    try {
      clientTls = await readTlsFiles(files)
    } catch (error) {
      throw new UsageError([error instanceof Error ? error.message : String(error)])
    }
  }
  return rest
}
