/**
 * `gregor dev --secure` (issue 13, operator experience): three brokers with SASL_SSL on the Kafka listener, mTLS
 * between brokers, TLS on gRPC and admin HTTP, ACLs on with the admin as super user, and the admin's SCRAM credential
 * created from the salted bootstrap file. The kcat line it prints, as printed, lists the cluster, produces and
 * consumes; a plaintext kcat and a wrong password are refused; the printed gregor lines (SCRAM over gRPC, or the admin's
 * certificate) list the topic and an anonymous caller does not see it; /readyz is open and /metrics needs the printed token;
 * the password is only in mode-0600 files and the printed settings, never in a broker's log or the bootstrap file.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, readdir, stat } from 'node:fs/promises'
import { request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect, test } from 'vitest'
import { cliBin, waitFor } from '@gregor/cli'
import { isAlive, killDev, spawnDev } from './dev-process.js'

const run = promisify(execFile)

async function httpsStatus (url: string, ca: Buffer, headers: Record<string, string> = {}): Promise<number> {
  const { hostname, port, pathname } = new URL(url)
  return await new Promise((resolve, reject) => {
    httpsRequest({ host: hostname, port, path: pathname, ca, headers, servername: '' }, (response) => { response.resume(); resolve(response.statusCode ?? 0) })
      .on('error', reject).end()
  })
}

test('gregor dev --secure: the printed kcat settings produce and consume; plaintext and a wrong password are refused; admin HTTP needs the token', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gregor-dev-secure-test-'))
  const dev = spawnDev(dir, ['--secure'])
  const { child, exited } = dev
  let brokerPids: number[] = []
  try {
    await waitFor('gregor dev --secure to print its settings', () => dev.stdout().includes('admin HTTP:') ? true : undefined, { timeoutMs: 60_000 })
    const stdout = dev.stdout()
    brokerPids = [...stdout.matchAll(/broker \d {2}pid (\d+)/g)].map((match) => Number(match[1]))
    const kafkaBootstrap = /ready\. kafka bootstrap servers: (\S+)/.exec(stdout)?.[1] as string
    const adminUrl = /admin (https:\/\/\S+)/.exec(stdout)?.[1] as string
    const password = /password: (\S+) \(also in (\S+), mode 0600\)/.exec(stdout)
    expect(password).not.toBeNull()
    // The kcat line exactly as printed, without its trailing -L: every setting a client needs.
    const kcatLine = /^ {2}kcat (-b .*) -L$/m.exec(stdout)?.[1] as string
    expect(kcatLine).toContain('-X security.protocol=SASL_SSL -X sasl.mechanisms=SCRAM-SHA-512 -X sasl.username=admin')
    const kcat = kcatLine.split(' ')

    const listed = await waitFor('kcat with the printed settings to list three brokers', async () => {
      const { stdout: json } = await run('kcat', [...kcat, '-L', '-J', '-m', '5'], { timeout: 20_000 }).catch(() => ({ stdout: '{"brokers":[]}' }))
      const metadata = JSON.parse(json) as { brokers: unknown[] }
      return metadata.brokers.length === 3 ? metadata : undefined
    }, { timeoutMs: 30_000, intervalMs: 200 })
    expect(listed.brokers).toHaveLength(3)
    await new Promise<void>((resolve, reject) => {
      const producer = execFile('kcat', [...kcat, '-t', 'secure-demo', '-P', '-p', '0', '-X', 'topic.request.required.acks=all'], { timeout: 30_000 },
        (error) => { if (error === null) resolve(); else reject(error) })
      producer.stdin?.end('one\ntwo\n')
    })
    const consumed = await run('kcat', [...kcat, '-t', 'secure-demo', '-C', '-o', 'beginning', '-c', '2', '-e', '-q'], { timeout: 30_000 })
    expect(consumed.stdout.split('\n').filter((line) => line !== '')).toEqual(['one', 'two'])

    const refusal = async (args: string[]): Promise<string> =>
      await run('kcat', [...args, '-L', '-m', '2'], { timeout: 20_000 }).then(() => 'listed', (error: { stderr?: string }) => error.stderr ?? 'refused')
    const [plaintext, wrongPassword] = await Promise.all([
      refusal(['-b', kafkaBootstrap]), refusal(kcat.map((arg) => arg.startsWith('sasl.password=') ? 'sasl.password=wrong' : arg)),
    ])
    expect(plaintext).toMatch(/Disconnected|transport failure|Failed to acquire metadata/)
    expect(wrongPassword).toMatch(/Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512/)

    // The gregor CLI lines as printed: SCRAM over gRPC+TLS, and the admin's certificate; without either, refused.
    const gregorScram = (/^ {2}gregor (topics list .*)$/m.exec(stdout)?.[1] as string).split(' ')
    const viaScram = await run(process.execPath, [cliBin, ...gregorScram], { timeout: 30_000 })
    expect(viaScram.stdout).toContain('secure-demo')
    const certificateFlags = (/^ {2}\(or the admin's certificate, principal User:admin: (.*)\)$/m.exec(stdout)?.[1] as string).split(' ')
    const bootstrap = gregorScram[gregorScram.indexOf('-b') + 1] as string
    expect((await run(process.execPath, [cliBin, 'topics', 'list', '-b', bootstrap, ...certificateFlags], { timeout: 30_000 })).stdout).toContain('secure-demo')
    const anonymous = await run(process.execPath, [cliBin, 'topics', 'list', '-b', bootstrap, '--ssl-ca', certificateFlags[1] as string], { timeout: 30_000 })
      .then(({ stdout: listed }) => listed, (error: { stderr?: string }) => `refused: ${error.stderr ?? ''}`)
    expect(anonymous).not.toContain('secure-demo') // ACLs on: an anonymous caller sees no topic (or is refused)

    const certs = join(dir, 'certs')
    const ca = await readFile(join(certs, 'ca.pem'))
    const token = (await readFile(join(certs, 'admin-token'), 'utf8')).trim()
    expect(await httpsStatus(`${adminUrl}/readyz`, ca)).toBe(200)
    expect(await httpsStatus(`${adminUrl}/metrics`, ca)).toBe(401)
    expect(await httpsStatus(`${adminUrl}/metrics`, ca, { authorization: `Bearer ${token}` })).toBe(200)

    for (const secret of ['admin.password', 'admin-token', 'scram-bootstrap.json', 'admin-client.properties', 'ca.key']) {
      expect(((await stat(join(certs, secret))).mode & 0o777).toString(8)).toBe('600')
    }
    const plaintextPassword = password?.[1] as string
    expect(await readFile(join(certs, 'scram-bootstrap.json'), 'utf8')).not.toContain(plaintextPassword)
    for (const log of (await readdir(dir)).filter((name) => name.endsWith('.log'))) {
      expect(await readFile(join(dir, log), 'utf8')).not.toContain(plaintextPassword)
    }

    child.kill('SIGINT')
    expect(await exited).toBe(0)
    expect(brokerPids.filter(isAlive)).toEqual([])
  } finally {
    await killDev(dev, brokerPids, dir)
  }
}, 120_000)
