import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { UsageError, bootstrapServers, devBootstrapServers, saslSettings, takeTlsFlags, tlsOption } from './client-args.js'

describe('bootstrap servers', () => {
  test('the flag wins, then GREGOR_BOOTSTRAP_SERVERS, then the gregor dev cluster (as rpk defaults to localhost)', () => {
    const env = { GREGOR_BOOTSTRAP_SERVERS: 'env-host:1' }
    expect(bootstrapServers('flag-host:2', env)).toEqual(['flag-host:2'])
    expect(bootstrapServers(undefined, env)).toEqual(['env-host:1'])
    expect(bootstrapServers(undefined, {})).toEqual(['127.0.0.1:9292', '127.0.0.1:9293', '127.0.0.1:9294'])
    expect(bootstrapServers(undefined, { GREGOR_BOOTSTRAP_SERVERS: ' ' }).join(',')).toBe(devBootstrapServers)
  })
})

describe('TLS flags', () => {
  test('--ssl-ca/--ssl-cert/--ssl-key (spaced or with =) are taken out and their files read; the rest is the command\'s', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gregor-client-args-'))
    try {
      await Promise.all([writeFile(join(dir, 'ca.pem'), 'CA'), writeFile(join(dir, 'c.pem'), 'CERT'), writeFile(join(dir, 'c.key'), 'KEY')])
      expect(await takeTlsFlags(['list', '--json'])).toEqual(['list', '--json'])
      // Names that are Object.prototype properties are arguments like any other.
      expect(await takeTlsFlags(['create', '--topic', 'toString', 'constructor'])).toEqual(['create', '--topic', 'toString', 'constructor'])
      expect(tlsOption()).toEqual({}) // no flag: plaintext
      const rest = await takeTlsFlags(['list', '--ssl-ca', join(dir, 'ca.pem'), '-b', 'h:1', `--ssl-cert=${join(dir, 'c.pem')}`, '--ssl-key', join(dir, 'c.key'), '--json'])
      expect(rest).toEqual(['list', '-b', 'h:1', '--json'])
      expect(tlsOption()).toEqual({ tls: { ca: Buffer.from('CA'), cert: Buffer.from('CERT'), key: Buffer.from('KEY') } })
      await expect(takeTlsFlags(['list', '--ssl-ca'])).rejects.toThrow(UsageError)
      await expect(takeTlsFlags(['list', '--ssl-ca', join(dir, 'missing.pem')])).rejects.toThrow(/CA file .*missing\.pem: ENOENT/)
      await expect(takeTlsFlags(['--ssl-cert', join(dir, 'c.pem')])).rejects.toThrow(/certificate and its key go together/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('SASL flags', () => {
  test('--sasl-username/--sasl-password/--sasl-mechanism are taken out; tlsOption carries them', async () => {
    const rest = await takeTlsFlags(['list', '--sasl-username', 'alice', '--sasl-password=s3cret', '--sasl-mechanism', 'scram-sha-512', '--json'])
    expect(rest).toEqual(['list', '--json'])
    expect(tlsOption().sasl).toEqual({ mechanism: 'SCRAM-SHA-512', username: 'alice', password: 's3cret' })
    await expect(takeTlsFlags(['list', '--sasl-password'])).rejects.toThrow('--sasl-password needs a value')
  })

  test('GREGOR_SASL_* stand in for absent flags; a user needs a password and a SCRAM mechanism', () => {
    expect(saslSettings({}, {})).toBeUndefined()
    expect(saslSettings({}, { GREGOR_SASL_USERNAME: 'bob', GREGOR_SASL_PASSWORD: 'pw' })).toEqual({ mechanism: 'SCRAM-SHA-256', username: 'bob', password: 'pw' })
    expect(saslSettings({ password: 'flag' }, { GREGOR_SASL_USERNAME: 'bob', GREGOR_SASL_PASSWORD: 'pw' })?.password).toBe('flag')
    expect(() => saslSettings({ username: 'bob' }, {})).toThrow(UsageError)
    expect(() => saslSettings({ username: 'bob', password: 'pw', mechanism: 'PLAIN' }, {})).toThrow(/SCRAM-SHA-256 or SCRAM-SHA-512, not PLAIN/)
    expect(() => saslSettings({ password: 'pw' }, {})).toThrow(/need --sasl-username/)
  })
})
