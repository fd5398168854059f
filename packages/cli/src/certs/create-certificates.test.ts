import { X509Certificate, createPrivateKey } from 'node:crypto'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { createCertificates } from './create-certificates.js'

const dirs: string[] = []
afterAll(async () => { await Promise.all(dirs.map(async (dir) => { await rm(dir, { recursive: true, force: true }) })) })

async function tempDir (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gregor-certs-'))
  dirs.push(dir)
  return dir
}

async function certificate (file: string): Promise<X509Certificate> {
  return new X509Certificate(await readFile(file))
}

describe('createCertificates', () => {
  test('a CA, broker certificates named broker-N for every local address, client certificates, private keys 0600', async () => {
    const dir = await tempDir()
    const created = await createCertificates({ dir, brokers: 2, clients: ['client', 'admin'], hosts: ['kafka.example'] })
    const ca = await certificate(created.caFile)
    expect(ca.ca).toBe(true)
    const broker2 = await certificate(created.brokers.get(2)?.certFile ?? '')
    expect(broker2.subject).toBe('CN=broker-2')
    expect(broker2.checkIssued(ca) && broker2.verify(ca.publicKey)).toBe(true)
    expect(broker2.subjectAltName).toBe('DNS:broker-2, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:kafka.example')
    expect(broker2.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'])) // server and client auth
    expect(broker2.checkPrivateKey(createPrivateKey(await readFile(created.brokers.get(2)?.keyFile ?? '')))).toBe(true)
    const admin = await certificate(created.clients.get('admin')?.certFile ?? '')
    expect(admin.subject).toBe('CN=admin')
    expect(admin.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']) // client auth only
    expect(admin.verify(ca.publicKey)).toBe(true)
    expect((await stat(join(dir, 'ca.key'))).mode & 0o777).toBe(0o600)
    expect((await stat(created.clients.get('client')?.keyFile ?? '')).mode & 0o777).toBe(0o600)
  })

  test('an existing CA is reused, so a broker added later chains to the same CA; another directory gets another CA', async () => {
    const dir = await tempDir()
    const first = await createCertificates({ dir, brokers: 1, clients: [] })
    const before = await readFile(first.caFile, 'utf8')
    const second = await createCertificates({ dir, brokers: 3, clients: [] })
    expect(await readFile(second.caFile, 'utf8')).toBe(before)
    expect((await certificate(second.brokers.get(3)?.certFile ?? '')).verify((await certificate(second.caFile)).publicKey)).toBe(true)
    const foreign = await createCertificates({ dir: await tempDir(), brokers: 1, clients: [] })
    expect((await certificate(foreign.brokers.get(1)?.certFile ?? '')).verify((await certificate(first.caFile)).publicKey)).toBe(false)
  })

  test('names that would not be plain file and subject names are refused before openssl runs', async () => {
    await expect(createCertificates({ dir: await tempDir(), brokers: 1, clients: ['a/b'] })).rejects.toThrow(/certificate name "a\/b"/)
    await expect(createCertificates({ dir: await tempDir(), brokers: 1, clients: [], hosts: ['x,DNS:evil'] })).rejects.toThrow(/host "x,DNS:evil"/)
  })
})
