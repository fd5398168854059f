/**
 * `gregor certs create --dir D [--brokers 3] [--client client]... [--host H]... [--days 365]`: a local CA and
 * certificates for a TLS cluster (certs/create-certificates.ts, with `openssl`), then the settings that use them.
 * For local clusters, tests and trials; production certificates come from the operator's own CA.
 *
 * `gregor certs bootstrap --dir D [--brokers 3] [--host H]...`: the same plus what a cluster with SASL and ACLs needs
 * to start (secure/secure-cluster-files.ts): the admin's client certificate, password (0600), salted SCRAM bootstrap
 * credential (GREGOR_SCRAM_BOOTSTRAP_FILE) and admin HTTP token (GREGOR_ADMIN_TOKEN_FILE); what `gregor dev --secure`
 * makes, for the compose variant's init service. Prints the file names and the broker settings, not the password.
 */
import { createCertificates } from '../certs/create-certificates.js'
import { prepareSecureCluster } from '../secure/secure-cluster-files.js'
import { UsageError, integerFlag, parseCommandArgs, runClientCommand } from './command-args.js'
import { writeLine } from './client-output.js'

const usage = `usage: gregor certs create --dir D [--brokers 3] [--client client]... [--host H]... [--days 365]
  makes D/ca.pem, D/broker-N.pem|key (CN broker-N) and D/<client>.pem|key, signed by a local CA (D/ca.key, reused)
       gregor certs bootstrap --dir D [--brokers 3] [--host H]...
  the same with an admin client, plus D/admin.password, D/scram-bootstrap.json, D/admin-token (0600) for SASL and ACLs
`

export async function certsCommand (argv: string[]): Promise<number> {
  return await runClientCommand('certs', usage, async () => {
    const [action, ...rest] = argv
    if (action === 'bootstrap') return await bootstrap(rest)
    if (action !== 'create') throw new UsageError([action === undefined ? 'an action is required' : `unknown action ${action}`])
    const { values } = parseCommandArgs(rest, {
      dir: { type: 'string' }, brokers: { type: 'string' }, client: { type: 'string', multiple: true },
      host: { type: 'string', multiple: true }, days: { type: 'string' },
    })
    const problems: string[] = []
    if (values.dir === undefined || values.dir === '') problems.push('--dir is required')
    const brokers = integerFlag('brokers', values.brokers, problems, 0) ?? 3
    const days = integerFlag('days', values.days, problems, 1) ?? 365
    if (problems.length > 0) throw new UsageError(problems)
    const created = await createCertificates({ dir: values.dir as string, brokers, clients: values.client ?? ['client'], hosts: values.host, days })
    await writeLine(`CA: ${created.caFile}`)
    for (const [id, files] of created.brokers) await writeLine(`broker ${id}: GREGOR_SSL_CERT_FILE=${files.certFile} GREGOR_SSL_KEY_FILE=${files.keyFile} GREGOR_SSL_CA_FILE=${created.caFile}`)
    for (const [name, files] of created.clients) await writeLine(`client ${name}: --ssl-ca ${created.caFile} --ssl-cert ${files.certFile} --ssl-key ${files.keyFile}`)
    return 0
  })
}

async function bootstrap (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { dir: { type: 'string' }, brokers: { type: 'string' }, host: { type: 'string', multiple: true } })
  const problems: string[] = []
  if (values.dir === undefined || values.dir === '') problems.push('--dir is required')
  const brokers = integerFlag('brokers', values.brokers, problems, 1) ?? 3
  if (problems.length > 0) throw new UsageError(problems)
  const files = await prepareSecureCluster({ dir: values.dir as string, brokers, ...(values.host === undefined ? {} : { hosts: values.host }) })
  await writeLine(`CA: ${files.caFile}`)
  await writeLine(`brokers: GREGOR_SSL_CA_FILE=${files.caFile} GREGOR_SSL_CERT_FILE=${files.certsDir}/broker-<N>.pem GREGOR_SSL_KEY_FILE=${files.certsDir}/broker-<N>.key`)
  await writeLine(`         GREGOR_SCRAM_BOOTSTRAP_FILE=${files.scramBootstrapFile} GREGOR_ADMIN_TOKEN_FILE=${files.adminTokenFile}`)
  await writeLine(`admin: user admin (SCRAM-SHA-512), password in ${files.passwordFile}; certificate ${files.adminCertFile}; kcat -F ${files.clientPropertiesFile}`)
  return 0
}
