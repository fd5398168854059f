/**
 * `gregor users create|delete|list`: SCRAM credentials through `Admin` (Kafka's `kafka-configs --entity-type users
 * --alter --add-config 'SCRAM-SHA-256=[iterations=4096,password=...]'` / `--delete-config SCRAM-SHA-256` /
 * `--describe`).
 *
 * The password is salted and hashed in this process (Admin.upsertUserScramCredential): the broker receives the salt
 * and the salted password, and the metadata log only StoredKey and ServerKey. `list` prints user names with their
 * mechanisms and iteration counts, never a secret. A user logs in with SCRAM-SHA-256/512, or with PLAIN checked against
 * the same credential (docs/security.md).
 */
import { UsageError, bootstrapOption, integerFlag, parseCommandArgs, runAction, runClientCommand, withAdmin } from './client-args.js'
import { writeLine } from './client-output.js'

const usage = `usage:
  gregor users create --user U (--password P | --password-stdin) [--mechanism SCRAM-SHA-256|SCRAM-SHA-512] [--iterations N] [-b servers]
  gregor users delete --user U [--mechanism M] [-b servers]   (every mechanism of U without --mechanism)
  gregor users list [--json] [-b servers]
`

export async function usersCommand (argv: string[]): Promise<number> {
  return await runClientCommand('users', usage, async () =>
    await runAction(argv, { create: createUser, delete: deleteUser, list: listUsers }))
}

async function createUser (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    ...bootstrapOption, user: { type: 'string' }, password: { type: 'string' }, 'password-stdin': { type: 'boolean' },
    mechanism: { type: 'string' }, iterations: { type: 'string' },
  })
  const problems: string[] = []
  if (values.user === undefined || values.user === '') problems.push('--user is required')
  const fromStdin = values['password-stdin'] === true
  if (fromStdin && values.password !== undefined) problems.push('--password and --password-stdin exclude each other')
  if (!fromStdin && (values.password === undefined || values.password === '')) problems.push('--password (or --password-stdin) is required')
  const iterations = integerFlag('iterations', values.iterations, problems, 1)
  if (problems.length > 0) throw new UsageError(problems)
  const user = values.user ?? ''
  const mechanism = values.mechanism ?? 'SCRAM-SHA-256'
  // Off the command line, the password stays out of the process list and the shell history: its first line.
  const password = fromStdin ? await firstLineOfStdin() : values.password ?? ''
  if (password === '') throw new UsageError(['the password on stdin is empty'])
  return await withAdmin(values['bootstrap-server'], async (admin) => {
    await admin.upsertUserScramCredential(user, password, { mechanism, ...(iterations === undefined ? {} : { iterations }) })
    await writeLine(`Created ${mechanism} credential for user ${user}.`)
    return 0
  })
}

async function firstLineOfStdin (): Promise<string> {
  let text = ''
  for await (const chunk of process.stdin) {
    text += String(chunk)
    if (text.includes('\n')) break
  }
  return text.split(/\r?\n/)[0] ?? ''
}

async function deleteUser (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { ...bootstrapOption, user: { type: 'string' }, mechanism: { type: 'string' } })
  if (values.user === undefined || values.user === '') throw new UsageError(['--user is required'])
  const user = values.user
  return await withAdmin(values['bootstrap-server'], async (admin) => {
    const deleted = await admin.deleteUserScramCredentials(user, values.mechanism === undefined ? undefined : [values.mechanism])
    await writeLine(`Deleted ${deleted.join(', ')} credential${deleted.length === 1 ? '' : 's'} of user ${user}.`)
    return 0
  })
}

async function listUsers (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { ...bootstrapOption, json: { type: 'boolean' } })
  return await withAdmin(values['bootstrap-server'], async (admin) => {
    const users = await admin.describeUserScramCredentials()
    if (values.json === true) {
      await writeLine(JSON.stringify(users))
    } else {
      for (const { user, credentials } of users) {
        await writeLine(`${user}\t${credentials.map(({ mechanism, iterations }) => `${mechanism}(iterations=${iterations})`).join(',')}`)
      }
    }
    return 0
  })
}
