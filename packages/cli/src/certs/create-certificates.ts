/**
 * Makes the PEM files a TLS cluster needs, with the system's `openssl` (no crypto of our own): a local CA, one
 * certificate per broker and one per client principal, each signed by the CA.
 *
 * Names (docs/security.md): broker N's certificate has CN `broker-N` — the principal `User:CN=broker-N` that the
 * BROKER listener maps to node N — and subject alternative names `broker-N`, `localhost`, `127.0.0.1` and `::1`
 * plus any `hosts` given, so it serves every listener of that broker; brokers' certificates are good for both server
 * and client use (a broker dials its peers with the same identity). Client certificates (CN = the name given) are
 * for client use only. Keys are EC P-256, written mode 0600; an existing CA in `dir` is reused, so brokers can be
 * added later, and an existing leaf is kept as it is.
 *
 * Files: `ca.pem`, `ca.key`, `broker-N.pem`/`broker-N.key`, `<client>.pem`/`<client>.key`.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { access, chmod, mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface CreateCertificatesOptions {
  readonly dir: string
  /** Broker ids 1..brokers get a certificate each. */
  readonly brokers: number
  /** Client principals (CNs), e.g. `client`, `admin`. */
  readonly clients: readonly string[]
  /** Extra host names or IP addresses every broker certificate is valid for. */
  readonly hosts?: readonly string[]
  readonly days?: number
  /** The CA's common name; a fresh random one by default, so two CAs made apart never look alike. */
  readonly caName?: string
}

export interface CreatedCertificates {
  readonly caFile: string
  /** Broker id → its certificate and key files. */
  readonly brokers: ReadonlyMap<number, CertificateFiles>
  /** Client name → its certificate and key files. */
  readonly clients: ReadonlyMap<string, CertificateFiles>
}

export interface CertificateFiles {
  readonly certFile: string
  readonly keyFile: string
}

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']

async function openssl (args: readonly string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    execFile('openssl', args, { timeout: 30_000 }, (error, _stdout, stderr) => {
      if (error === null) resolve()
      else reject(new Error(`openssl ${args[0] ?? ''} failed: ${stderr.trim() !== '' ? stderr.trim() : error.message}`))
    })
  })
}

async function exists (path: string): Promise<boolean> {
  return await access(path).then(() => true, () => false)
}

/** A CN must be a plain name: it is put into an openssl `-subj` argument and into file names. */
function checkName (name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) throw new Error(`certificate name "${name}": 1-63 characters of [A-Za-z0-9._-]`)
}

function altName (host: string): string {
  return /^[0-9.]+$/.test(host) || host.includes(':') ? `IP:${host}` : `DNS:${host}`
}

async function signLeaf (dir: string, name: string, days: number, extensions: string): Promise<CertificateFiles> {
  const certFile = join(dir, `${name}.pem`)
  const keyFile = join(dir, `${name}.key`)
  if (await exists(certFile) && await exists(keyFile)) return { certFile, keyFile }
  const csrFile = join(dir, `${name}.csr`)
  const extFile = join(dir, `${name}.ext`)
  try {
    await openssl(['req', '-new', ...ecKey, '-keyout', keyFile, '-out', csrFile, '-subj', `/CN=${name}`])
    await chmod(keyFile, 0o600)
    await writeFile(extFile, extensions)
    await openssl(['x509', '-req', '-in', csrFile, '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'),
      '-set_serial', `0x${randomBytes(16).toString('hex')}`, '-days', String(days), '-sha256', '-extfile', extFile, '-out', certFile])
  } finally {
    await rm(csrFile, { force: true })
    await rm(extFile, { force: true })
  }
  return { certFile, keyFile }
}

export async function createCertificates (options: CreateCertificatesOptions): Promise<CreatedCertificates> {
  const { dir, brokers: brokerCount, days = 365 } = options
  if (!Number.isInteger(brokerCount) || brokerCount < 0 || brokerCount > 1000) throw new Error('brokers: an integer from 0 to 1000')
  for (const name of options.clients) checkName(name)
  for (const host of options.hosts ?? []) if (!/^[A-Za-z0-9.:-]+$/.test(host)) throw new Error(`host "${host}": a host name or IP address`)
  await mkdir(dir, { recursive: true })
  const caFile = join(dir, 'ca.pem')
  const caKeyFile = join(dir, 'ca.key')
  if (!(await exists(caFile) && await exists(caKeyFile))) {
    const caName = options.caName ?? `Gregor local CA ${randomBytes(4).toString('hex')}`
    if (!/^[A-Za-z0-9 ._-]{1,63}$/.test(caName)) throw new Error(`CA name "${caName}": 1-63 characters of [A-Za-z0-9 ._-]`)
    await openssl(['req', '-x509', '-new', ...ecKey, '-keyout', caKeyFile, '-out', caFile, '-days', String(days), '-sha256',
      '-subj', `/CN=${caName}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
    await chmod(caKeyFile, 0o600)
  }
  const leafBase = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n'
  const brokers = new Map<number, CertificateFiles>()
  for (let id = 1; id <= brokerCount; id++) {
    const name = `broker-${id}`
    const hosts = [name, 'localhost', '127.0.0.1', '::1', ...(options.hosts ?? [])]
    brokers.set(id, await signLeaf(dir, name, days,
      `${leafBase}extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${hosts.map(altName).join(',')}\n`))
  }
  const clients = new Map<string, CertificateFiles>()
  for (const name of options.clients) clients.set(name, await signLeaf(dir, name, days, `${leafBase}extendedKeyUsage=clientAuth\n`))
  return { caFile, brokers, clients }
}
