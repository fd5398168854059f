/**
 * The files of a secured cluster: made once, kept on a second run (same CA, password, credential, token), a broker
 * certificate signed again only when it lacks a host asked for now; the bootstrap credential is the password's
 * PBKDF2 (never the password); every secret is mode 0600.
 */
import { X509Certificate, pbkdf2Sync } from 'node:crypto'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { parseScramBootstrap } from '@gregor/broker'
import { prepareSecureCluster } from './secure-cluster-files.js'

const dirs: string[] = []
afterAll(async () => { await Promise.all(dirs.map(async (dir) => { await rm(dir, { recursive: true, force: true }) })) })

test('made once and reused; a broker certificate without a new host is signed again by the same CA', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gregor-secure-files-'))
  dirs.push(dir)
  const first = await prepareSecureCluster({ dir, brokers: 2, hosts: ['127.64.1.2'] })
  const [credential] = parseScramBootstrap(await readFile(first.scramBootstrapFile, 'utf8'))
  expect(credential?.user).toBe('admin')
  expect(credential?.mechanism).toBe('SCRAM-SHA-512')
  expect(credential?.saltedPassword).toEqual(pbkdf2Sync(first.password, credential?.salt as Buffer, credential?.iterations as number, 64, 'sha512'))
  expect(await readFile(first.scramBootstrapFile, 'utf8')).not.toContain(first.password)
  for (const secret of [first.passwordFile, first.scramBootstrapFile, first.adminTokenFile, first.clientPropertiesFile, first.adminKeyFile]) {
    expect(((await stat(secret)).mode & 0o777).toString(8)).toBe('600')
  }
  const ca = await readFile(first.caFile, 'utf8')
  const broker1 = await readFile(join(dir, 'broker-1.pem'), 'utf8')

  const same = await prepareSecureCluster({ dir, brokers: 2, hosts: ['127.64.1.2'] })
  expect([same.password, same.adminToken, await readFile(join(dir, 'broker-1.pem'), 'utf8')]).toEqual([first.password, first.adminToken, broker1])

  const moved = await prepareSecureCluster({ dir, brokers: 2, hosts: ['127.64.9.9'] })
  expect(moved.password).toBe(first.password)
  expect(await readFile(moved.caFile, 'utf8')).toBe(ca)
  const resigned = new X509Certificate(await readFile(join(dir, 'broker-1.pem')))
  expect(resigned.checkIP('127.64.9.9')).toBe('127.64.9.9')
  expect(resigned.checkIssued(new X509Certificate(ca))).toBe(true)
}, 60_000)
