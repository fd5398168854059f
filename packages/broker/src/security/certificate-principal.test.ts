/**
 * The certificate-to-principal rule of both client listeners: `User:<CN>` of a verified certificate; nothing else.
 * (Over real TLS sockets, with certificates of a real CA: test/security/kafka-tls.test.ts.)
 */
import { Socket } from 'node:net'
import { describe, expect, test } from 'vitest'
import { certificatePrincipal, tlsPeerPrincipal } from './certificate-principal.js'

describe('certificatePrincipal', () => {
  test('the subject\'s common name, as User:<CN>, whatever else the subject holds', () => {
    expect(certificatePrincipal({ CN: 'alice' })).toBe('User:alice')
    expect(certificatePrincipal({ C: 'NL', O: 'Gregor', OU: ['ops', 'dev'], CN: 'alice' })).toBe('User:alice')
  })

  test('several CN values: the first one', () => {
    expect(certificatePrincipal({ CN: ['alice', 'bob'] })).toBe('User:alice')
  })

  test('no subject, no CN or an empty one: no principal (the caller stays anonymous)', () => {
    expect(certificatePrincipal(undefined)).toBeUndefined()
    expect(certificatePrincipal({})).toBeUndefined()
    expect(certificatePrincipal({ O: 'Gregor' })).toBeUndefined()
    expect(certificatePrincipal({ CN: '' })).toBeUndefined()
    expect(certificatePrincipal({ CN: [] })).toBeUndefined()
  })

  test('a plaintext socket has no certificate principal', () => {
    const socket = new Socket()
    expect(tlsPeerPrincipal(socket)).toBeUndefined()
    socket.destroy()
  })
})
