/**
 * The bootstrap credential file (Kafka's `format --add-scram`): parsing refuses malformed entries all at once and
 * round-trips what formatting wrote; the runner creates only what is missing, retries a controller that is not there
 * yet or refuses, and stops when the broker stops.
 */
import { describe, expect, test } from 'vitest'
import { silentLogger } from '@gregor/common'
import { type ScramBootstrapCredential, type ScramUpsertion, formatScramBootstrap, parseScramBootstrap, runScramBootstrap } from './scram-bootstrap.js'

const admin: ScramBootstrapCredential = { user: 'admin', mechanism: 'SCRAM-SHA-512', iterations: 4096, salt: Buffer.alloc(32, 1), saltedPassword: Buffer.alloc(64, 2) }

describe('scram bootstrap file', () => {
  test('round trip; no password field, only salt and salted password', () => {
    const text = formatScramBootstrap([admin])
    expect(parseScramBootstrap(text)).toEqual([admin])
    expect(text).not.toMatch(/"password"/i)
  })

  test('every problem listed', () => {
    expect(() => parseScramBootstrap('nope')).toThrow(/not JSON/)
    expect(() => parseScramBootstrap('{"credentials": []}')).toThrow(/at least one/)
    const bad = JSON.stringify({ credentials: [{ user: '', mechanism: 'PLAIN', iterations: 10, salt: '', saltedPassword: 'AAAA' }] })
    const message = (() => { try { parseScramBootstrap(bad); return '' } catch (error) { return (error as Error).message } })()
    for (const field of ['user', 'mechanism', 'iterations', 'salt']) expect(message).toContain(`credentials[0].${field}`)
    const short = JSON.parse(formatScramBootstrap([admin])) as { credentials: Array<Record<string, unknown>> }
    short.credentials[0] = { ...short.credentials[0], saltedPassword: Buffer.alloc(32).toString('base64') }
    expect(() => parseScramBootstrap(JSON.stringify(short))).toThrow(/64 bytes/)
  })
})

describe('runScramBootstrap', () => {
  test('creates the missing credential, retrying a controller that fails then refuses', async () => {
    const stored = new Set<string>()
    const calls: ScramUpsertion[][] = []
    let attempt = 0
    const done = await runScramBootstrap({
      credentials: [admin, { ...admin, user: 'ops', mechanism: 'SCRAM-SHA-256', saltedPassword: Buffer.alloc(32, 3) }],
      exists: (user, mechanism) => stored.has(`${user}/${mechanism}`),
      alter: async (upsertions) => {
        calls.push([...upsertions])
        attempt++
        if (attempt === 1) throw new Error('no controller')
        if (attempt === 2) return [{ user: 'admin', errorCode: 'NOT_CONTROLLER', errorMessage: 'moved' }]
        for (const item of upsertions) stored.add(`${item.name}/${item.mechanism}`)
        return upsertions.map((item) => ({ user: item.name, errorCode: '' }))
      },
      sleep: async () => {}, stopped: () => false, logger: silentLogger,
    })
    expect(done).toBe(true)
    expect(calls).toHaveLength(3)
    expect(stored).toEqual(new Set(['admin/SCRAM-SHA-512', 'ops/SCRAM-SHA-256']))
  })

  test('a credential already in the image is not written again; a stopping broker gives up', async () => {
    let calls = 0
    expect(await runScramBootstrap({
      credentials: [admin], exists: () => true, alter: async () => { calls++; return [] }, sleep: async () => {}, stopped: () => false, logger: silentLogger,
    })).toBe(true)
    expect(calls).toBe(0)
    let stopped = false
    expect(await runScramBootstrap({
      credentials: [admin], exists: () => false, alter: async () => { stopped = true; throw new Error('no controller') }, sleep: async () => {}, stopped: () => stopped, logger: silentLogger,
    })).toBe(false)
  })
})
