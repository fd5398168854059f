/**
 * `gregor acls add|list|remove`: ACLs through `AclAdmin` (Kafka's `kafka-acls --add | --list | --remove`); the
 * arguments are kafka-acls's (acls-args.ts). `list` prints a table, or the bindings as JSON with `--json`. Needs
 * ALTER (add, remove) or DESCRIBE (list) on the cluster, and brokers with ACLs on (GREGOR_ACLS_ENABLED).
 */
import { AclAdmin, connectionFor } from '@gregor/client'
import { type AclsArgs, aclTable, aclsOptions, bindingsToAdd, filtersToList, filtersToRemove } from './acls-args.js'
import { bootstrapOption, bootstrapServers, parseCommandArgs, runAction, runClientCommand, tlsOption } from './client-args.js'
import { writeLine } from './client-output.js'

const usage = `usage:
  gregor acls add (--allow-principal User:P [--allow-host H] | --deny-principal User:P [--deny-host H])...
                  --operation Read [--operation Write]... (--topic T | --group G | --cluster)...
                  [--resource-pattern-type literal|prefixed] [-b servers]
  gregor acls list [--topic T | --group G | --cluster]... [--principal User:P]
                   [--resource-pattern-type any|match|literal|prefixed] [--json] [-b servers]
  gregor acls remove (--topic T | --group G | --cluster)... [--allow-principal User:P | --deny-principal User:P]...
                     [--operation O]... [--resource-pattern-type literal|prefixed|any|match] [-b servers]
                     (no principal and no operation: every ACL of the named resources)
`

export async function aclsCommand (argv: string[]): Promise<number> {
  return await runClientCommand('acls', usage, async () => await runAction(argv, { add, list, remove }))
}

/** Runs `body` with an AclAdmin on the cluster, closed afterwards. */
async function withAclAdmin (server: string | undefined, body: (admin: AclAdmin) => Promise<number>): Promise<number> {
  const connection = connectionFor({ bootstrapServers: bootstrapServers(server), ...tlsOption() })
  try {
    return await body(new AclAdmin(connection))
  } finally {
    connection.close()
  }
}

async function add (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { ...bootstrapOption, ...aclsOptions })
  const bindings = bindingsToAdd(values as AclsArgs)
  return await withAclAdmin(values['bootstrap-server'], async (admin) => {
    await admin.createAcls(bindings)
    await writeLine(`Added ${bindings.length} ACL${bindings.length === 1 ? '' : 's'}:`)
    for (const line of aclTable(bindings)) await writeLine(line)
    return 0
  })
}

async function list (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { ...bootstrapOption, ...aclsOptions, json: { type: 'boolean' } })
  const filters = filtersToList(values as AclsArgs)
  return await withAclAdmin(values['bootstrap-server'], async (admin) => {
    const found = (await Promise.all(filters.map(async (filter) => await admin.describeAcls(filter)))).flat()
    if (values.json === true) await writeLine(JSON.stringify(found))
    else for (const line of aclTable(found)) await writeLine(line)
    return 0
  })
}

async function remove (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { ...bootstrapOption, ...aclsOptions })
  const filters = filtersToRemove(values as AclsArgs)
  return await withAclAdmin(values['bootstrap-server'], async (admin) => {
    const deleted = await admin.deleteAcls(filters)
    await writeLine(`Removed ${deleted.length} ACL${deleted.length === 1 ? '' : 's'}${deleted.length === 0 ? '.' : ':'}`)
    if (deleted.length > 0) for (const line of aclTable(deleted)) await writeLine(line)
    return 0
  })
}
