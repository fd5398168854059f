/**
 * `gregor certs create --dir D [--brokers 3] [--client client]... [--host H]... [--days 365]`: a local CA and
 * certificates for a TLS cluster (certs/create-certificates.ts, with `openssl`), then the settings that use them.
 * For local clusters, tests and trials; production certificates come from the operator's own CA.
 */
import { createCertificates } from '../certs/create-certificates.js'
import { UsageError, integerFlag, parseCommandArgs, runClientCommand } from './command-args.js'
import { writeLine } from './client-output.js'

const usage = `usage: gregor certs create --dir D [--brokers 3] [--client client]... [--host H]... [--days 365]
  makes D/ca.pem, D/broker-N.pem|key (CN broker-N) and D/<client>.pem|key, signed by a local CA (D/ca.key, reused)
`

export async function certsCommand (argv: string[]): Promise<number> {
  return await runClientCommand('certs', usage, async () => {
    const [action, ...rest] = argv
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
