/**
 * The bootstrap SCRAM credentials of a secured cluster (GREGOR_SCRAM_BOOTSTRAP_FILE; Kafka's `kafka-storage format
 * --add-scram`): how the first user — the admin a `super.users` list names — comes to exist when ACLs refuse every
 * anonymous request, including the one that would create it.
 *
 * The file is JSON, `{"credentials": [{user, mechanism, iterations, salt, saltedPassword}]}` with base64 bytes: what
 * `gregor users create` sends the broker (never the password; the salted password lets one log in, so the file is
 * a secret, mode 0600). On its first start a broker creates, through the controller (the same call `gregor users
 * create` makes, from inside the broker so no authorization applies), each credential whose user has none for that
 * mechanism in the metadata image, then writes a marker into its data directory and never reads the file again: a
 * credential deleted or changed later stays so across restarts. Three brokers bootstrapping the same file at once
 * write the same keys (same salt and salted password), so the race is harmless.
 *
 * `parseScramBootstrap` and `formatScramBootstrap` are pure; `runScramBootstrap` retries with a bounded backoff until
 * a controller answers or `stopped()` says the broker is going away. Nothing secret is ever logged: user names and
 * mechanisms only.
 */
import type { Logger } from '@gregor/common'

export interface ScramBootstrapCredential {
  readonly user: string
  readonly mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512'
  readonly iterations: number
  readonly salt: Buffer
  readonly saltedPassword: Buffer
}

const mechanismBytes = { 'SCRAM-SHA-256': 32, 'SCRAM-SHA-512': 64 } as const

/** The credentials of a bootstrap file's text; throws with every problem at once. */
export function parseScramBootstrap (text: string): ScramBootstrapCredential[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new Error(`scram bootstrap file: not JSON (${error instanceof Error ? error.message : String(error)})`)
  }
  const items = (parsed as { credentials?: unknown } | null)?.credentials
  if (!Array.isArray(items) || items.length === 0) throw new Error('scram bootstrap file: {"credentials": [...]} with at least one credential')
  const problems: string[] = []
  const credentials = items.map((item: Record<string, unknown>, index): ScramBootstrapCredential => {
    const where = `credentials[${index}]`
    const { user, mechanism, iterations, salt, saltedPassword } = item ?? {}
    if (typeof user !== 'string' || user === '') problems.push(`${where}.user: a non-empty string`)
    if (mechanism !== 'SCRAM-SHA-256' && mechanism !== 'SCRAM-SHA-512') problems.push(`${where}.mechanism: SCRAM-SHA-256 or SCRAM-SHA-512`)
    if (typeof iterations !== 'number' || !Number.isInteger(iterations) || iterations < 4096 || iterations > 16384) problems.push(`${where}.iterations: an integer in [4096, 16384]`)
    const saltBytes = typeof salt === 'string' ? Buffer.from(salt, 'base64') : Buffer.alloc(0)
    const saltedBytes = typeof saltedPassword === 'string' ? Buffer.from(saltedPassword, 'base64') : Buffer.alloc(0)
    if (saltBytes.length === 0) problems.push(`${where}.salt: base64 bytes`)
    const expected = mechanismBytes[mechanism as keyof typeof mechanismBytes]
    if (expected !== undefined && saltedBytes.length !== expected) problems.push(`${where}.saltedPassword: ${expected} bytes in base64 for ${String(mechanism)}`)
    return { user: String(user), mechanism: mechanism as ScramBootstrapCredential['mechanism'], iterations: Number(iterations), salt: saltBytes, saltedPassword: saltedBytes }
  })
  if (problems.length > 0) throw new Error(`scram bootstrap file: ${problems.join('; ')}`)
  return credentials
}

export function formatScramBootstrap (credentials: readonly ScramBootstrapCredential[]): string {
  return `${JSON.stringify({
    credentials: credentials.map((item) => ({
      user: item.user, mechanism: item.mechanism, iterations: item.iterations,
      salt: item.salt.toString('base64'), saltedPassword: item.saltedPassword.toString('base64'),
    })),
  }, null, 2)}\n`
}

export interface ScramUpsertion {
  readonly name: string
  readonly mechanism: string
  readonly iterations: number
  readonly salt: Buffer
  readonly saltedPassword: Buffer
}

export interface ScramBootstrapDeps {
  readonly credentials: readonly ScramBootstrapCredential[]
  /** Whether the applied metadata image already holds a credential of this user and mechanism. */
  readonly exists: (user: string, mechanism: ScramBootstrapCredential['mechanism']) => boolean
  /** Kafka's AlterUserScramCredentials through the controller; one result per user. */
  readonly alter: (upsertions: readonly ScramUpsertion[]) => Promise<ReadonlyArray<{ user?: string | null; errorCode?: string | null; errorMessage?: string | null }>>
  readonly sleep: (ms: number) => Promise<void>
  readonly stopped: () => boolean
  readonly logger: Logger
}

/** Creates the missing credentials; true once every one exists, false if the broker stopped first. */
export async function runScramBootstrap (deps: ScramBootstrapDeps): Promise<boolean> {
  const log = deps.logger.child({ component: 'scram-bootstrap' })
  let backoffMs = 200
  while (!deps.stopped()) {
    const missing = deps.credentials.filter((item) => !deps.exists(item.user, item.mechanism))
    if (missing.length === 0) {
      log.info({ users: deps.credentials.map((item) => `${item.user}(${item.mechanism})`) }, 'bootstrap scram credentials present')
      return true
    }
    try {
      const results = await deps.alter(missing.map((item) => ({
        name: item.user, mechanism: item.mechanism, iterations: item.iterations, salt: item.salt, saltedPassword: item.saltedPassword,
      })))
      const failed = results.filter((result) => (result.errorCode ?? '') !== '')
      if (failed.length === 0) {
        log.info({ users: missing.map((item) => `${item.user}(${item.mechanism})`) }, 'bootstrap scram credentials created')
        return true
      }
      log.warn({ failed: failed.map((result) => ({ user: result.user, errorCode: result.errorCode, errorMessage: result.errorMessage })) }, 'bootstrap scram credentials refused, retrying')
    } catch (error) {
      log.info({ err: error instanceof Error ? error.message : String(error) }, 'bootstrap scram credentials not created yet, retrying')
    }
    await deps.sleep(backoffMs)
    backoffMs = Math.min(backoffMs * 2, 5_000)
  }
  return false
}
