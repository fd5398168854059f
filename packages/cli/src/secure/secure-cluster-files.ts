/**
 * Everything a secured local cluster needs on disk, made once and reused (for `gregor dev --secure` and the compose
 * variant's init service, via `gregor security init`):
 *
 *   certs/ca.pem, ca.key, broker-N.pem|key, admin.pem|key    `gregor certs create`'s code (openssl): the local CA,
 *                                                             each broker's identity, the admin's client certificate
 *   admin.password            0600  the admin's SCRAM password (random, 24 bytes base64url): the only plaintext copy
 *   scram-bootstrap.json      0600  the admin's SCRAM-SHA-512 credential, salted (GREGOR_SCRAM_BOOTSTRAP_FILE: each
 *                                   broker creates it through the controller on its first start)
 *   admin-token               0600  the admin HTTP token (GREGOR_ADMIN_TOKEN_FILE)
 *   admin-client.properties   0600  librdkafka settings (`kcat -F`), password included
 *
 * An existing file is kept, so a second run on the same directory reuses the password and credentials the cluster
 * already has; only a broker certificate that does not cover a host asked for now (e.g. `gregor dev --secure` on a
 * new private loopback address) is signed again, by the same CA. The password is never put into a broker's
 * environment or command line; brokers read the salted file.
 */
import { X509Certificate, pbkdf2, randomBytes } from 'node:crypto'
import { access, chmod, readFile, rm, writeFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { formatScramBootstrap } from '@gregor/broker'
import { type CreatedCertificates, createCertificates } from '../certs/create-certificates.js'

export const adminUser = 'admin'
export const adminMechanism = 'SCRAM-SHA-512'
const adminIterations = 8192

export interface SecureClusterFiles {
  readonly certsDir: string
  readonly certs: CreatedCertificates
  readonly caFile: string
  readonly adminCertFile: string
  readonly adminKeyFile: string
  readonly passwordFile: string
  readonly password: string
  readonly scramBootstrapFile: string
  readonly adminTokenFile: string
  readonly adminToken: string
  readonly clientPropertiesFile: string
}

async function exists (path: string): Promise<boolean> {
  return await access(path).then(() => true, () => false)
}

/** The file's first line if it exists, else `make()` written there with mode 0600. */
async function secretFile (path: string, make: () => string | Promise<string>): Promise<string> {
  if (await exists(path)) return (await readFile(path, 'utf8')).split('\n')[0] ?? ''
  const value = await make()
  await writeFile(path, `${value}\n`, { mode: 0o600 })
  await chmod(path, 0o600)
  return value
}

/** Removes broker certificates that do not cover every host of `hosts`, so that createCertificates signs new ones. */
async function dropCertificatesWithoutHosts (dir: string, brokers: number, hosts: readonly string[]): Promise<void> {
  for (let id = 1; id <= brokers; id++) {
    const certFile = join(dir, `broker-${id}.pem`)
    const pem = await readFile(certFile).catch(() => undefined)
    if (pem === undefined) continue
    const certificate = new X509Certificate(pem)
    const covered = hosts.every((host) => (isIP(host) !== 0 ? certificate.checkIP(host) : certificate.checkHost(host)) !== undefined)
    if (!covered) await Promise.all([rm(certFile, { force: true }), rm(join(dir, `broker-${id}.key`), { force: true })])
  }
}

export async function prepareSecureCluster (options: { dir: string; brokers: number; hosts?: readonly string[] }): Promise<SecureClusterFiles> {
  const certsDir = options.dir
  await dropCertificatesWithoutHosts(certsDir, options.brokers, options.hosts ?? [])
  const certs = await createCertificates({ dir: certsDir, brokers: options.brokers, clients: [adminUser], ...(options.hosts === undefined ? {} : { hosts: options.hosts }) })
  const admin = certs.clients.get(adminUser)
  if (admin === undefined) throw new Error('the admin certificate was not made') // createCertificates makes every client named
  const passwordFile = join(certsDir, 'admin.password')
  const password = await secretFile(passwordFile, () => randomBytes(24).toString('base64url'))
  const scramBootstrapFile = join(certsDir, 'scram-bootstrap.json')
  await secretFile(scramBootstrapFile, async () => {
    const salt = randomBytes(32)
    const saltedPassword = await promisify(pbkdf2)(Buffer.from(password, 'utf8'), salt, adminIterations, 64, 'sha512')
    return formatScramBootstrap([{ user: adminUser, mechanism: adminMechanism, iterations: adminIterations, salt, saltedPassword }]).trimEnd().replace(/\n\s*/g, ' ')
  })
  const adminTokenFile = join(certsDir, 'admin-token')
  const adminToken = await secretFile(adminTokenFile, () => randomBytes(24).toString('base64url'))
  const clientPropertiesFile = join(certsDir, 'admin-client.properties')
  await secretFile(clientPropertiesFile, () => [
    'security.protocol=SASL_SSL', `sasl.mechanisms=${adminMechanism}`, `sasl.username=${adminUser}`, `sasl.password=${password}`,
    `ssl.ca.location=${certs.caFile}`,
  ].join('\n'))
  return {
    certsDir, certs, caFile: certs.caFile, adminCertFile: admin.certFile, adminKeyFile: admin.keyFile, passwordFile, password,
    scramBootstrapFile, adminTokenFile, adminToken, clientPropertiesFile,
  }
}

/** Every client's settings, as `gregor dev --secure` and `gregor security init` print them. */
export function secureClientSettings (files: SecureClusterFiles, kafkaBootstrap: string, grpcBootstrap: string, adminUrl: string): string[] {
  const { caFile, password } = files
  const first = kafkaBootstrap.split(',')[0] ?? kafkaBootstrap
  return [
    `admin user: ${adminUser} (${adminMechanism}, a super user); password: ${password} (also in ${files.passwordFile}, mode 0600)`,
    'kcat (librdkafka):',
    `  kcat -b ${first} -X security.protocol=SASL_SSL -X sasl.mechanisms=${adminMechanism} -X sasl.username=${adminUser} -X sasl.password=${password} -X ssl.ca.location=${caFile} -L`,
    `  kcat -F ${files.clientPropertiesFile} -b ${first} -L     (the same settings from a file)`,
    'KafkaJS:',
    `  new Kafka({ brokers: ${JSON.stringify(kafkaBootstrap.split(','))}, ssl: { ca: [readFileSync(${JSON.stringify(caFile)})] },`,
    `    sasl: { mechanism: 'scram-sha-512', username: '${adminUser}', password: '${password}' } })`,
    'gregor CLI (gRPC over TLS with SCRAM; GREGOR_SASL_USERNAME / GREGOR_SASL_PASSWORD keep the password off the command line):',
    `  gregor topics list -b ${grpcBootstrap} --ssl-ca ${caFile} --sasl-mechanism ${adminMechanism} --sasl-username ${adminUser} --sasl-password ${password}`,
    `  (or the admin's certificate, principal User:admin: --ssl-ca ${caFile} --ssl-cert ${files.adminCertFile} --ssl-key ${files.adminKeyFile})`,
    `admin HTTP: /healthz and /readyz open; /metrics and the cluster page need the token in ${files.adminTokenFile}:`,
    `  curl --cacert ${caFile} -H "Authorization: Bearer $(cat ${files.adminTokenFile})" ${adminUrl}/metrics`,
    `  browser: ${adminUrl}/cluster?token=<the token>   (sets a cookie; trust ${caFile} or accept the warning)`,
  ]
}
