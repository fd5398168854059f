import { describe, expect, test } from 'vitest'
import { bootstrapServers, devBootstrapServers } from './client-args.js'

describe('bootstrap servers', () => {
  test('the flag wins, then GREGOR_BOOTSTRAP_SERVERS, then the gregor dev cluster (as rpk defaults to localhost)', () => {
    const env = { GREGOR_BOOTSTRAP_SERVERS: 'env-host:1' }
    expect(bootstrapServers('flag-host:2', env)).toEqual(['flag-host:2'])
    expect(bootstrapServers(undefined, env)).toEqual(['env-host:1'])
    expect(bootstrapServers(undefined, {})).toEqual(['127.0.0.1:9292', '127.0.0.1:9293', '127.0.0.1:9294'])
    expect(bootstrapServers(undefined, { GREGOR_BOOTSTRAP_SERVERS: ' ' }).join(',')).toBe(devBootstrapServers)
  })
})
