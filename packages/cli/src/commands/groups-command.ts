/**
 * `gregor groups list|describe|delete|reset-offsets`: consumer-group administration through `Admin`, in the shape
 * of `kafka-consumer-groups.sh` (`--list`, `--describe --offsets|--members|--state`, `--delete`, `--reset-offsets`)
 * with its tables (group-table.ts) and its messages for the refusals users know: a group that does not exist, a
 * group that is not empty. Those refusals print `Error: …` on stderr and exit 1; usage errors exit 2.
 *
 * A reset is a dry run unless `--execute`, as in Kafka, and is refused before planning when the group has members
 * (only an inactive group's offsets may move, else its members would overwrite them with their next commit); the
 * coordinator refuses it again with NON_EMPTY_GROUP if a member joined in between.
 */
import { Admin, type GroupDescription, type OffsetResetPlanRow } from '@gregor/client'
import { ErrorCode, isGregorError } from '@gregor/common'
import { UsageError, bootstrapOption, bootstrapServers, parseCommandArgs, runClientCommand, tlsOption } from './client-args.js'
import { writeLine } from './client-output.js'
import { type CoordinatorAddress, describeDocument, displayName, listTable, membersTable, offsetsTable, resetPlanTable, stateTable } from './group-table.js'
import { type TopicSelection, allowBareFlag, attachNegativeValues, resetSpec, stateFilter, topicSelection } from './groups-args.js'

const usage = `usage:
  gregor groups list [--state [S,S...]] [--json] [-b servers]
  gregor groups describe --group G [--offsets | --members [--verbose] | --state] [--json] [-b servers]
  gregor groups delete --group G [--group G ...] [-b servers]
  gregor groups reset-offsets --group G (--topic T[:P,P...] ... | --all-topics)
      (--to-earliest | --to-latest | --to-offset N | --to-datetime ISO | --shift-by N) [--dry-run | --execute] [--json] [-b servers]
`

const REBALANCING_STATES = new Set(['assigning', 'reconciling', 'preparing_rebalance', 'completing_rebalance'])

/** The part of `Admin` these commands use. */
export type GroupsAdmin = Pick<Admin,
  'findCoordinator' | 'listGroups' | 'describeGroups' | 'deleteGroups' | 'fetchOffsets' | 'groupLag' | 'planOffsetReset' |
  'resetOffsets' | 'close'>

export interface GroupsCommandDeps {
  /** Connects to the cluster (a unit test passes an in-memory one). */
  readonly admin: (bootstrapServers: string[]) => GroupsAdmin
}

const defaultDeps: GroupsCommandDeps = { admin: (servers) => new Admin({ bootstrapServers: servers, ...tlsOption() }) }

export async function groupsCommand (argv: string[], deps: GroupsCommandDeps = defaultDeps): Promise<number> {
  return await runClientCommand('groups', usage, async () => {
    const [action, ...rest] = argv
    const withAdmin = async (server: string | undefined, body: (admin: GroupsAdmin) => Promise<number>): Promise<number> => {
      const admin = deps.admin(bootstrapServers(server))
      try {
        return await body(admin)
      } finally {
        admin.close()
      }
    }
    switch (action) {
      case 'list': return await listGroups(rest, withAdmin)
      case 'describe': return await describeGroup(rest, withAdmin)
      case 'delete': return await deleteGroups(rest, withAdmin)
      case 'reset-offsets': return await resetOffsets(rest, withAdmin)
      default: throw new UsageError([action === undefined ? 'missing action' : `unknown action '${action}'`])
    }
  })
}

type WithAdmin = (server: string | undefined, body: (admin: GroupsAdmin) => Promise<number>) => Promise<number>

/** A refusal in Kafka's words: `Error: …` on stderr, exit 1. */
function refuse (message: string): number {
  process.stderr.write(`Error: ${message}\n`)
  return 1
}

const doesNotExist = (groupId: string): string => `Consumer group '${groupId}' does not exist.`

/** The group's description, or undefined when the coordinator knows no such group (or only a dead one). */
async function describeIfExists (admin: GroupsAdmin, groupId: string): Promise<GroupDescription | undefined> {
  try {
    const [description] = await admin.describeGroups([groupId])
    return description === undefined || description.state.toLowerCase() === 'dead' ? undefined : description
  } catch (error) {
    if (isGregorError(error) && error.code === ErrorCode.GROUP_ID_NOT_FOUND) return undefined
    throw error
  }
}

async function listGroups (argv: string[], withAdmin: WithAdmin): Promise<number> {
  const { values } = parseCommandArgs(allowBareFlag(argv, '--state'), { ...bootstrapOption, state: { type: 'string' }, json: { type: 'boolean' } })
  const states = values.state === undefined ? [] : stateFilter(values.state)
  return await withAdmin(values['bootstrap-server'], async (admin) => {
    // The brokers apply the state filter.
    const groups = await admin.listGroups(states.length === 0 ? undefined : { states })
    if (values.json === true) {
      await writeLine(JSON.stringify(groups.map((group) => ({
        groupId: group.groupId, groupType: displayName(group.groupType), state: displayName(group.state), coordinatorId: group.coordinatorId,
      }))))
    } else if (values.state !== undefined) {
      for (const line of listTable(groups)) await writeLine(line)
    } else {
      for (const group of groups) await writeLine(group.groupId)
    }
    return 0
  })
}

async function describeGroup (argv: string[], withAdmin: WithAdmin): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    ...bootstrapOption, group: { type: 'string' }, offsets: { type: 'boolean' }, members: { type: 'boolean' },
    state: { type: 'boolean' }, verbose: { type: 'boolean' }, json: { type: 'boolean' },
  })
  const problems: string[] = []
  if (values.group === undefined) problems.push('--group is required')
  const modes = (['offsets', 'members', 'state'] as const).filter((mode) => values[mode] === true)
  if (modes.length > 1) problems.push(`--offsets, --members and --state exclude each other (got ${modes.map((mode) => `--${mode}`).join(', ')})`)
  if (problems.length > 0) throw new UsageError(problems)
  const groupId = values.group ?? ''
  const mode = modes[0] ?? 'offsets'
  return await withAdmin(values['bootstrap-server'], async (admin) => {
    const description = await describeIfExists(admin, groupId)
    if (description === undefined) return refuse(doesNotExist(groupId))
    if (values.json === true) {
      const [coordinator, offsets] = await Promise.all([coordinatorOf(admin, groupId), admin.groupLag(groupId)])
      await writeLine(JSON.stringify(describeDocument(description, coordinator, offsets)))
      return 0
    }
    const state = description.state.toLowerCase()
    if (state === 'empty') process.stderr.write(`Consumer group '${groupId}' has no active members.\n`)
    if (REBALANCING_STATES.has(state)) process.stderr.write(`Warning: Consumer group '${groupId}' is rebalancing.\n`)
    let lines: string[] = []
    if (mode === 'state') {
      lines = stateTable(description, await coordinatorOf(admin, groupId))
    } else if (mode === 'members') {
      // As Kafka: no table for a group without members (the note above says why).
      if (description.members.length > 0) lines = membersTable(groupId, description.members, { verbose: values.verbose === true })
    } else {
      const rows = offsetsTable(groupId, await admin.groupLag(groupId), description.members)
      if (rows.length > 1) lines = rows
    }
    for (const line of lines) await writeLine(line)
    return 0
  })
}

async function coordinatorOf (admin: GroupsAdmin, groupId: string): Promise<CoordinatorAddress> {
  const { nodeId, host, port } = await admin.findCoordinator(groupId)
  return { id: nodeId, host, port }
}

async function deleteGroups (argv: string[], withAdmin: WithAdmin): Promise<number> {
  const { values } = parseCommandArgs(argv, { ...bootstrapOption, group: { type: 'string', multiple: true } })
  const groupIds = values.group ?? []
  if (groupIds.length === 0) throw new UsageError(['--group is required'])
  return await withAdmin(values['bootstrap-server'], async (admin) => {
    const results = await admin.deleteGroups(groupIds)
    const failed = results.filter((result) => result.errorCode !== '')
    const deleted = results.filter((result) => result.errorCode === '').map((result) => `'${result.groupId}'`)
    if (deleted.length > 0) await writeLine(`Deletion of requested consumer groups (${deleted.join(', ')}) was successful.`)
    if (failed.length === 0) return 0
    process.stderr.write('Error: Deletion of some consumer groups failed:\n')
    for (const result of failed) {
      process.stderr.write(`* Group '${result.groupId}' could not be deleted due to: ${result.errorCode}: ${result.errorMessage === '' ? defaultMessage(result.errorCode) : result.errorMessage}\n`)
    }
    return 1
  })
}

function defaultMessage (code: string): string {
  if (code === ErrorCode.NON_EMPTY_GROUP) return 'The group is not empty.'
  if (code === ErrorCode.GROUP_ID_NOT_FOUND) return 'The group id does not exist.'
  return 'The request failed.'
}

async function resetOffsets (argv: string[], withAdmin: WithAdmin): Promise<number> {
  const { values } = parseCommandArgs(attachNegativeValues(argv, ['--shift-by', '--to-offset']), {
    ...bootstrapOption, group: { type: 'string' }, topic: { type: 'string', multiple: true }, 'all-topics': { type: 'boolean' },
    'to-earliest': { type: 'boolean' }, 'to-latest': { type: 'boolean' }, 'to-offset': { type: 'string' },
    'to-datetime': { type: 'string' }, 'shift-by': { type: 'string' }, execute: { type: 'boolean' }, 'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
  })
  const problems: string[] = []
  if (values.group === undefined) problems.push('--group is required')
  const topicFlags = values.topic ?? []
  if (topicFlags.length === 0 && values['all-topics'] !== true) problems.push('--topic T[:P,P] or --all-topics is required')
  if (topicFlags.length > 0 && values['all-topics'] === true) problems.push('--topic and --all-topics exclude each other')
  const selections = topicFlags.map((flag) => topicSelection(flag, problems)).filter((selection) => selection !== undefined)
  const spec = resetSpec(values, problems)
  if (values.execute === true && values['dry-run'] === true) problems.push('--execute and --dry-run exclude each other')
  if (problems.length > 0 || spec === undefined) throw new UsageError(problems)
  const groupId = values.group ?? ''
  const execute = values.execute === true
  return await withAdmin(values['bootstrap-server'], async (admin) => {
    // Only an Empty group's offsets may move (a Dead one counts as absent, see describeIfExists).
    const description = await describeIfExists(admin, groupId)
    if (description !== undefined && description.state.toLowerCase() !== 'empty') {
      return refuse(notInactive(groupId, description.state))
    }
    const topics = values['all-topics'] === true ? committedTopics(await admin.fetchOffsets(groupId)) : selections
    const plan: OffsetResetPlanRow[] = []
    for (const { topic, partitions } of topics) plan.push(...await admin.planOffsetReset(groupId, topic, spec, partitions))
    if (execute && plan.length > 0) {
      try {
        await admin.resetOffsets(groupId, plan)
      } catch (error) {
        if (!isGregorError(error) || error.code !== ErrorCode.NON_EMPTY_GROUP) throw error
        // A member joined after the check above: name the state it is in now.
        return refuse(notInactive(groupId, (await describeIfExists(admin, groupId))?.state ?? 'not empty'))
      }
    }
    if (!execute) process.stderr.write('WARN: No action will be performed as the --execute option is missing (dry run).\n')
    if (values.json === true) {
      await writeLine(JSON.stringify({ groupId, executed: execute, plan }))
    } else {
      for (const line of resetPlanTable(groupId, plan)) await writeLine(line)
    }
    return 0
  })
}

function notInactive (groupId: string, state: string): string {
  return `Assignments can only be reset if the group '${groupId}' is inactive, but the current state is ${displayName(state)}.`
}

/** `--all-topics`: the partitions the group has committed offsets for (Kafka's meaning), by topic. */
function committedTopics (offsets: readonly { readonly topic: string; readonly partition: number }[]): TopicSelection[] {
  const byTopic = new Map<string, number[]>()
  for (const { topic, partition } of offsets) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition])
  return [...byTopic.entries()].sort(([a], [b]) => a.localeCompare(b))
    .map(([topic, partitions]) => ({ topic, partitions: [...new Set(partitions)].sort((a, b) => a - b) }))
}
