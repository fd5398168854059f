/**
 * `gregor healthcheck` against a real node:http server on 127.0.0.1: 200 → exit 0, 503 → exit 1 with the body as
 * the reason, nothing listening or a server that never answers → exit 1 within the timeout, a bad URL → exit 2.
 */
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest'
import { defaultReadyzUrl, healthcheckCommand } from './healthcheck-command.js'

let server: Server
let base: string
let readyStatus = 200

beforeAll(async () => {
  server = createServer((request, response) => {
    if (request.url === '/hang') return // never answers: the command's deadline must fire
    response.writeHead(request.url === '/readyz' ? readyStatus : 404, { 'content-type': 'application/json' })
    response.end(`${JSON.stringify({ ready: readyStatus === 200, fenced: readyStatus !== 200 })}\n`)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

afterEach(() => { vi.restoreAllMocks() })

/** Runs the command with stdout/stderr captured. */
async function run (argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { out += String(chunk); return true })
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => { err += String(chunk); return true })
  const code = await healthcheckCommand(argv)
  vi.restoreAllMocks()
  return { code, out, err }
}

describe('gregor healthcheck', () => {
  test('exits 0 when /readyz answers 200', async () => {
    readyStatus = 200
    const result = await run(['--url', `${base}/readyz`])
    expect(result.code).toBe(0)
    expect(result.out).toBe(`ready: ${base}/readyz answered 200\n`)
  })

  test('exits 1 with the body as the reason when /readyz answers 503', async () => {
    readyStatus = 503
    const result = await run(['--url', `${base}/readyz`])
    expect(result.code).toBe(1)
    expect(result.out).toBe(`not ready: ${base}/readyz answered 503 {"ready":false,"fenced":true}\n`)
  })

  test('exits 1 when nothing listens', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const result = await run(['--url', `http://127.0.0.1:${port}/readyz`])
    expect(result.code).toBe(1)
    expect(result.out).toMatch(/^not ready: .*ECONNREFUSED/)
  })

  test('exits 1 within the timeout when the server never answers', async () => {
    const startedMs = Date.now()
    const result = await run(['--url', `${base}/hang`, '--timeout-ms', '300'])
    expect(result.code).toBe(1)
    expect(result.out).toMatch(/no answer within 300 ms/)
    expect(Date.now() - startedMs).toBeLessThan(2_000)
  })

  test('a bad URL or timeout is a usage error (exit 2)', async () => {
    expect((await run(['--url', 'not a url'])).code).toBe(2)
    expect((await run(['--url', 'ftp://127.0.0.1/readyz'])).code).toBe(2)
    expect((await run(['--timeout-ms', '0'])).code).toBe(2)
  })

  test('the default URL is the ADMIN listener of GREGOR_LISTENERS, a wildcard host meaning 127.0.0.1', () => {
    expect(defaultReadyzUrl(undefined)).toBe('http://127.0.0.1:8080/readyz')
    expect(defaultReadyzUrl('CLIENT://0.0.0.0:9092,BROKER://0.0.0.0:9093')).toBe('http://127.0.0.1:8080/readyz')
    expect(defaultReadyzUrl('CLIENT://0.0.0.0:9092,ADMIN://0.0.0.0:18080')).toBe('http://127.0.0.1:18080/readyz')
    expect(defaultReadyzUrl('admin://10.1.2.3:8081')).toBe('http://10.1.2.3:8081/readyz')
    // ADMIN on SSL (the secure compose variant): https, the certificate checked against GREGOR_SSL_CA_FILE.
    expect(defaultReadyzUrl('ADMIN://0.0.0.0:8080', 'KAFKA:SASL_SSL,ADMIN:SSL')).toBe('https://127.0.0.1:8080/readyz')
    expect(defaultReadyzUrl('ADMIN://0.0.0.0:8080', 'KAFKA:SASL_SSL,CLIENT:SSL')).toBe('http://127.0.0.1:8080/readyz')
  })
})

describe('what the healthcheck loads', () => {
  /** Bare specifiers reachable from `file` through its relative value imports (type-only imports are erased). */
  function bareImports (file: string, seen = new Set<string>()): Set<string> {
    const bare = new Set<string>()
    if (seen.has(file)) return bare
    seen.add(file)
    const source = readFileSync(file, 'utf8')
    for (const match of source.matchAll(/^(?:import|export)\s+(?!type\s)[^'"]*?from\s*['"]([^'"]+)['"]/gm)) {
      const specifier = match[1] as string
      if (!specifier.startsWith('.')) { bare.add(specifier); continue }
      const target = fileURLToPath(new URL(specifier.replace(/\.js$/, '.ts'), pathToFileURL(file)))
      for (const inner of bareImports(target, seen)) bare.add(inner)
    }
    return bare
  }

  test('no client library, gRPC or protobuf: a container runs it every few seconds', () => {
    const reached = [...bareImports(fileURLToPath(new URL('./healthcheck-command.ts', import.meta.url)))]
    expect(reached.length).toBeGreaterThan(0)
    expect(reached.filter((specifier) => /^@gregor\/client|^@grpc\/|^protobufjs|^@gregor\/protocol/.test(specifier))).toEqual([])
    // The checker sees through a relative import to a heavy one.
    expect([...bareImports(fileURLToPath(new URL('./client-args.ts', import.meta.url)))]).toContain('@gregor/client')
  })
})
