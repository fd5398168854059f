/**
 * `gregor healthcheck [--url U] [--timeout-ms N]`: asks a broker's `/readyz` and exits 0 if it answers 200, 1
 * otherwise, with a one-line reason either way — the container HEALTHCHECK of the Docker image. The default URL is
 * the ADMIN listener of `GREGOR_LISTENERS` (a wildcard host means this machine: 127.0.0.1), else 127.0.0.1:8080,
 * so inside a broker container it needs no argument. Plain node:http: no client library, no gRPC, quick to start.
 * When GREGOR_LISTENER_SECURITY_PROTOCOL_MAP puts ADMIN on SSL the default URL is https:// and the broker's
 * certificate is checked against GREGOR_SSL_CA_FILE (/readyz needs no token).
 */
import { readFile } from 'node:fs/promises'
import { request } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { parseListeners } from '@gregor/broker/config'
import { UsageError, integerFlag, parseCommandArgs, runClientCommand } from './command-args.js'
import { writeLine } from './client-output.js'

const usage = `usage: gregor healthcheck [--url http://127.0.0.1:8080/readyz] [--timeout-ms 2000]
`

const wildcardHosts = new Set(['0.0.0.0', '', '::', '[::]'])

/**
 * The /readyz URL of the ADMIN listener in `listeners` (GREGOR_LISTENERS syntax), else 127.0.0.1:8080; https when
 * `securityProtocolMap` (GREGOR_LISTENER_SECURITY_PROTOCOL_MAP) maps ADMIN to SSL.
 */
export function defaultReadyzUrl (listeners: string | undefined, securityProtocolMap?: string): string {
  const scheme = /(^|,)\s*ADMIN:SSL\s*(,|$)/i.test(securityProtocolMap ?? '') ? 'https' : 'http'
  const admin = parseListeners(listeners ?? '', 'listeners', []).find((listener) => listener.name === 'ADMIN')
  if (admin === undefined) return `${scheme}://127.0.0.1:8080/readyz`
  const host = wildcardHosts.has(admin.host) ? '127.0.0.1' : admin.host
  return `${scheme}://${host}:${admin.port}/readyz`
}

/** One GET with an overall deadline: resolves with the status and (short) body, rejects on error or timeout. */
async function get (url: URL, timeoutMs: number, ca: Buffer | undefined): Promise<{ status: number; body: string }> {
  return await new Promise((resolve, reject) => {
    const options = { method: 'GET', timeout: timeoutMs, headers: { accept: 'application/json' }, ...(ca === undefined ? {} : { ca }) }
    const req = (url.protocol === 'https:' ? httpsRequest : request)(url, options, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => { if (body.length < 4096) body += chunk })
      response.on('end', () => { resolve({ status: response.statusCode ?? 0, body }) })
      response.on('error', reject)
    })
    // `timeout` only covers socket inactivity; the timer bounds the whole exchange (a trickling server too).
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
    req.on('close', () => clearTimeout(timer))
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end()
  })
}

export async function healthcheckCommand (argv: string[]): Promise<number> {
  return await runClientCommand('healthcheck', usage, async () => {
    const { values } = parseCommandArgs(argv, { url: { type: 'string' }, 'timeout-ms': { type: 'string' } })
    const problems: string[] = []
    const timeoutMs = integerFlag('timeout-ms', values['timeout-ms'], problems, 1) ?? 2_000
    let url: URL | undefined
    try {
      url = new URL(values.url ?? defaultReadyzUrl(process.env.GREGOR_LISTENERS, process.env.GREGOR_LISTENER_SECURITY_PROTOCOL_MAP))
      if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.push(`--url must be an http:// or https:// URL (got '${url.href}')`)
    } catch {
      problems.push(`--url is not a URL (got '${values.url ?? ''}')`)
    }
    if (problems.length > 0 || url === undefined) throw new UsageError(problems)
    try {
      const caFile = process.env.GREGOR_SSL_CA_FILE
      const ca = url.protocol === 'https:' && caFile !== undefined && caFile !== '' ? await readFile(caFile) : undefined
      const { status, body } = await get(url, timeoutMs, ca)
      // The body of /readyz says why a broker is not ready (fenced, no quorum leader, ...): keep it on the line.
      const reason = body.trim().replace(/\s+/g, ' ').slice(0, 300)
      if (status === 200) {
        await writeLine(`ready: ${url.href} answered 200`)
        return 0
      }
      await writeLine(`not ready: ${url.href} answered ${status}${reason === '' ? '' : ` ${reason}`}`)
      return 1
    } catch (error) {
      await writeLine(`not ready: ${url.href}: ${error instanceof Error ? error.message : String(error)}`)
      return 1
    }
  })
}
