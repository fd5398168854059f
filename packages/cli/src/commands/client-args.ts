/**
 * Argument handling shared by the client commands (topics, produce, consume, cluster, bench produce|consume): the
 * bootstrap servers from `-b`/`--bootstrap-server` or `GREGOR_BOOTSTRAP_SERVERS` (else the `gregor dev` cluster), plus the generic parsing and
 * exit-code convention of `command-args.ts`.
 *
 * TLS: `--ssl-ca F`, `--ssl-cert F`, `--ssl-key F` (librdkafka's ssl.ca.location, ssl.certificate.location,
 * ssl.key.location) are taken out of any client command's arguments by `takeTlsFlags` (main.ts), their files read
 * once, and every client the command makes gets them through `tlsOption()`.
 *
 * SASL (a SASL_PLAINTEXT / SASL_SSL gRPC listener): `--sasl-mechanism SCRAM-SHA-256|SCRAM-SHA-512` (default 256),
 * `--sasl-username U`, `--sasl-password P` (librdkafka's sasl.mechanisms, sasl.username, sasl.password), taken out the
 * same way; `GREGOR_SASL_MECHANISM`, `GREGOR_SASL_USERNAME`, `GREGOR_SASL_PASSWORD` stand in for absent flags, so a
 * password need not be on the command line (where `ps` shows it). A user name turns SASL on; `tlsOption()` carries
 * the SASL settings too.
 */
import { isGregorError } from '@gregor/common'
import { Admin, type SaslConfig, type TlsConfig, parseBootstrapServers, readTlsFiles } from '@gregor/client'
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
/** This process's SCRAM login (set once by `takeTlsFlags`); undefined: none. */
let clientSasl: SaslConfig | undefined

/** Runs `body` with an Admin on the cluster (`-b` or the default, with the command's TLS flags), closed afterwards. */
export async function withAdmin (server: string | undefined, body: (admin: Admin) => Promise<number>): Promise<number> {
  const admin = new Admin({ bootstrapServers: bootstrapServers(server), ...tlsOption() })
  try {
    return await body(admin)
  } finally {
    admin.close()
  }
}

/** The `tls` and `sasl` settings of every client a command makes: spread them into the client's config. */
export function tlsOption (): { readonly tls?: TlsConfig; readonly sasl?: SaslConfig } {
  return { ...(clientTls === undefined ? {} : { tls: clientTls }), ...(clientSasl === undefined ? {} : { sasl: clientSasl }) }
}

const tlsFlags = { '--ssl-ca': 'caFile', '--ssl-cert': 'certFile', '--ssl-key': 'keyFile' } as const
const saslFlags = { '--sasl-mechanism': 'mechanism', '--sasl-username': 'username', '--sasl-password': 'password' } as const
type SaslField = (typeof saslFlags)[keyof typeof saslFlags]
const saslMechanisms = ['SCRAM-SHA-256', 'SCRAM-SHA-512']

/** The SCRAM login from the flags, else `GREGOR_SASL_*`; undefined without a user name. */
export function saslSettings (flags: Partial<Record<SaslField, string>>, env: NodeJS.ProcessEnv = process.env): SaslConfig | undefined {
  const username = flags.username ?? env.GREGOR_SASL_USERNAME
  const mechanism = (flags.mechanism ?? env.GREGOR_SASL_MECHANISM ?? 'SCRAM-SHA-256').toUpperCase()
  const password = flags.password ?? env.GREGOR_SASL_PASSWORD
  if (username === undefined || username === '') {
    if (flags.mechanism !== undefined || flags.password !== undefined) throw new UsageError(['--sasl-mechanism and --sasl-password need --sasl-username (or GREGOR_SASL_USERNAME)'])
    return undefined
  }
  const problems: string[] = []
  if (!saslMechanisms.includes(mechanism)) problems.push(`--sasl-mechanism: ${saslMechanisms.join(' or ')}, not ${mechanism}`)
  if (password === undefined || password === '') problems.push('--sasl-username needs a password: --sasl-password or GREGOR_SASL_PASSWORD')
  if (problems.length > 0) throw new UsageError(problems)
  return { mechanism, username, password: password as string }
}

/**
 * Removes `--ssl-ca/--ssl-cert/--ssl-key F` (or `--flag=F`) from `argv`, reads the files and keeps them for
 * `tlsOption()`; the rest of `argv` is returned for the command's own parsing. Any of the flags turns TLS on.
 */
export async function takeTlsFlags (argv: readonly string[]): Promise<string[]> {
  const files: { caFile?: string; certFile?: string; keyFile?: string } = {}
  const sasl: Partial<Record<SaslField, string>> = {}
  const rest: string[] = []
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] as string
    const [flag, inline] = /^--(ssl|sasl)-/.test(arg) && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined]
    // Own keys only: a topic or user named `toString` is an argument, not an inherited property.
    const field = Object.hasOwn(tlsFlags, flag) ? (tlsFlags as Record<string, 'caFile' | 'certFile' | 'keyFile'>)[flag] : undefined
    const saslField = Object.hasOwn(saslFlags, flag) ? (saslFlags as Record<string, SaslField>)[flag] : undefined
    if (field === undefined && saslField === undefined) { rest.push(arg); continue }
    const value = inline ?? argv[++index]
    if (value === undefined || value === '') throw new UsageError([`${flag} needs ${field === undefined ? 'a value' : 'a file'}`])
    if (field !== undefined) files[field] = value
    else if (saslField !== undefined) sasl[saslField] = value
  }
  clientSasl = saslSettings(sasl)
  if (Object.keys(files).length > 0) {
    try {
      clientTls = await readTlsFiles(files)
    } catch (error) {
      throw new UsageError([error instanceof Error ? error.message : String(error)])
    }
  }
  return rest
}
