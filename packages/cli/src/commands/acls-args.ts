/**
 * `gregor acls` arguments in the shape of Kafka's `kafka-acls`, turned into ACL bindings and filters (pure, so the
 * whole mapping is unit-tested).
 *
 * - Resources: `--topic T`, `--group G` (each repeatable) and `--cluster`; `--resource-pattern-type literal|prefixed`
 *   (list and remove also take `any` and `match`).
 * - Entries: `--allow-principal User:P` / `--deny-principal User:P` (repeatable), `--allow-host H` / `--deny-host H`
 *   (default `*`), `--operation Read` (repeatable; Kafka's CamelCase names or upper case: `DescribeConfigs`,
 *   `DESCRIBE_CONFIGS`).
 * - add: every principal × host × operation × resource, as kafka-acls makes them. remove: the same bindings as
 *   filters, or, with no principal and no operation, every ACL of the named resources. list: the named resources
 *   (any pattern type unless given) and `--principal`, else every ACL.
 */
import type { AclBinding, AclFilter } from '@gregor/client'
import { UsageError } from './command-args.js'

export const aclsOptions = {
  topic: { type: 'string', multiple: true },
  group: { type: 'string', multiple: true },
  cluster: { type: 'boolean' },
  'resource-pattern-type': { type: 'string' },
  'allow-principal': { type: 'string', multiple: true },
  'deny-principal': { type: 'string', multiple: true },
  'allow-host': { type: 'string', multiple: true },
  'deny-host': { type: 'string', multiple: true },
  operation: { type: 'string', multiple: true },
  principal: { type: 'string' },
} as const

export interface AclsArgs {
  readonly topic?: string[]
  readonly group?: string[]
  readonly cluster?: boolean
  readonly 'resource-pattern-type'?: string
  readonly 'allow-principal'?: string[]
  readonly 'deny-principal'?: string[]
  readonly 'allow-host'?: string[]
  readonly 'deny-host'?: string[]
  readonly operation?: string[]
  readonly principal?: string
}

const operations = ['ALL', 'READ', 'WRITE', 'CREATE', 'DELETE', 'ALTER', 'DESCRIBE', 'CLUSTER_ACTION', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS', 'IDEMPOTENT_WRITE']

/** `DescribeConfigs` / `describe-configs` / `DESCRIBE_CONFIGS` → `DESCRIBE_CONFIGS`. */
export function operationName (text: string): string | undefined {
  const name = text.replace(/([a-z])([A-Z])/g, '$1_$2').replace(/-/g, '_').toUpperCase()
  return operations.includes(name) ? name : undefined
}

interface Resource { readonly resourceType: string; readonly resourceName: string }

function resources (args: AclsArgs): Resource[] {
  return [
    ...(args.topic ?? []).map((name) => ({ resourceType: 'TOPIC', resourceName: name })),
    ...(args.group ?? []).map((name) => ({ resourceType: 'GROUP', resourceName: name })),
    ...(args.cluster === true ? [{ resourceType: 'CLUSTER', resourceName: 'kafka-cluster' }] : []),
  ]
}

function patternType (args: AclsArgs, allowed: readonly string[], fallback: string, problems: string[]): string {
  const given = (args['resource-pattern-type'] ?? fallback).toUpperCase()
  if (!allowed.includes(given)) problems.push(`--resource-pattern-type: ${allowed.map((item) => item.toLowerCase()).join(', ')}; not ${args['resource-pattern-type'] ?? ''}`)
  return given
}

function checkedOperations (args: AclsArgs, problems: string[]): string[] {
  return (args.operation ?? []).map((text) => {
    const name = operationName(text)
    if (name === undefined) problems.push(`--operation ${text}: one of Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All`)
    return name ?? ''
  })
}

function checkPrincipals (principals: readonly string[], problems: string[]): void {
  for (const principal of principals) if (!/^User:.+/.test(principal)) problems.push(`principal ${principal}: must be User:<name> (or User:*)`)
}

/** The entries (principal, host, permission) of add/remove: allow × allow hosts, deny × deny hosts. */
function entries (args: AclsArgs, problems: string[]): Array<{ principal: string; host: string; permission: string }> {
  const allow = args['allow-principal'] ?? []
  const deny = args['deny-principal'] ?? []
  checkPrincipals([...allow, ...deny], problems)
  if (allow.length === 0 && (args['allow-host'] ?? []).length > 0) problems.push('--allow-host needs --allow-principal')
  if (deny.length === 0 && (args['deny-host'] ?? []).length > 0) problems.push('--deny-host needs --deny-principal')
  const hosts = (given: string[] | undefined): string[] => given === undefined || given.length === 0 ? ['*'] : given
  return [
    ...allow.flatMap((principal) => hosts(args['allow-host']).map((host) => ({ principal, host, permission: 'ALLOW' }))),
    ...deny.flatMap((principal) => hosts(args['deny-host']).map((host) => ({ principal, host, permission: 'DENY' }))),
  ]
}

/** `gregor acls add`: the bindings to create. */
export function bindingsToAdd (args: AclsArgs): AclBinding[] {
  const problems: string[] = []
  const pattern = patternType(args, ['LITERAL', 'PREFIXED'], 'LITERAL', problems)
  const targets = resources(args)
  if (targets.length === 0) problems.push('name a resource: --topic T, --group G or --cluster')
  const ops = checkedOperations(args, problems)
  if (ops.length === 0) problems.push('--operation is required (e.g. --operation Read)')
  const who = entries(args, problems)
  if (who.length === 0) problems.push('--allow-principal or --deny-principal is required')
  if (args.cluster === true && pattern !== 'LITERAL') problems.push('--cluster takes no --resource-pattern-type (it is LITERAL)')
  if (problems.length > 0) throw new UsageError(problems)
  return targets.flatMap((target) => who.flatMap((entry) => ops.map((operation) => ({
    ...target, patternType: target.resourceType === 'CLUSTER' ? 'LITERAL' : pattern, ...entry, operation,
  }))))
}

/**
 * `gregor acls remove`: filters. With principals or operations, the bindings `add` would make (as exact filters;
 * without --operation, any operation); with neither, every ACL on each named resource.
 */
export function filtersToRemove (args: AclsArgs): AclFilter[] {
  const problems: string[] = []
  const pattern = patternType(args, ['LITERAL', 'PREFIXED', 'ANY', 'MATCH'], 'LITERAL', problems)
  const targets = resources(args)
  if (targets.length === 0) problems.push('name a resource: --topic T, --group G or --cluster')
  const ops = checkedOperations(args, problems)
  const who = entries(args, problems)
  if (problems.length > 0) throw new UsageError(problems)
  const operationsOrAny = ops.length === 0 ? ['ANY'] : ops
  return targets.flatMap((target) => {
    const resource = { ...target, patternType: target.resourceType === 'CLUSTER' ? 'LITERAL' : pattern }
    if (who.length === 0) return operationsOrAny.map((operation) => ({ ...resource, operation, permission: 'ANY' }))
    return who.flatMap((entry) => operationsOrAny.map((operation) => ({ ...resource, ...entry, operation })))
  })
}

/** `gregor acls list`: one filter per named resource (any pattern type unless given), or every ACL. */
export function filtersToList (args: AclsArgs): AclFilter[] {
  const problems: string[] = []
  const pattern = patternType(args, ['LITERAL', 'PREFIXED', 'ANY', 'MATCH'], 'ANY', problems)
  if (args.principal !== undefined) checkPrincipals([args.principal], problems)
  if (problems.length > 0) throw new UsageError(problems)
  const principal = args.principal === undefined ? {} : { principal: args.principal }
  const targets = resources(args)
  if (targets.length === 0) return [{ resourceType: 'ANY', patternType: 'ANY', operation: 'ANY', permission: 'ANY', ...principal }]
  return targets.map((target) => ({ ...target, patternType: pattern, operation: 'ANY', permission: 'ANY', ...principal }))
}

/** The ACLs as a table: a header line, then one aligned line per ACL. */
export function aclTable (acls: readonly AclBinding[]): string[] {
  const header = ['RESOURCE_TYPE', 'RESOURCE_NAME', 'PATTERN_TYPE', 'PRINCIPAL', 'HOST', 'OPERATION', 'PERMISSION']
  const rows = acls.map((acl) => [acl.resourceType, acl.resourceName, acl.patternType, acl.principal, acl.host, acl.operation, acl.permission])
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)))
  return [header, ...rows].map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd())
}
