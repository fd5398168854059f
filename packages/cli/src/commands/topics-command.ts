/**
 * `gregor topics create|list|describe|alter|delete`: topic administration through `Admin`, with `kafka-topics.sh`'s
 * output shape (`Topic: t  Partition: 0  Leader: 1  Replicas: 1,2,3  Isr: 1,2,3`) and its two health filters.
 */
import type { TopicDescription } from '@gregor/client'
import type { PartitionInfo } from '@gregor/client'
import { UsageError, bootstrapOption, integerFlag, parseCommandArgs, runAction, runClientCommand, withAdmin } from './client-args.js'
import { writeLine } from './client-output.js'

const usage = `usage:
  gregor topics create --topic T --partitions P --replication-factor R [--config k=v ...] [-b servers]
  gregor topics list [--json] [-b servers]
  gregor topics describe [--topic T] [--under-replicated-partitions] [--unavailable-partitions] [--json] [-b servers]
  gregor topics alter --topic T --partitions N [--validate-only] [-b servers]   (more partitions; increase only)
  gregor topics alter --topic T [--config k=v ...] [--delete-config k ...] [--validate-only] [-b servers]
  gregor topics delete --topic T [-b servers]
`

export async function topicsCommand (argv: string[]): Promise<number> {
  return await runClientCommand('topics', usage, async () => await runAction(argv, {
    create: createTopic, list: listTopics, describe: describeTopics, alter: alterTopic, delete: deleteTopic,
  }))
}

async function createTopic (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    ...bootstrapOption, topic: { type: 'string' }, partitions: { type: 'string' }, 'replication-factor': { type: 'string' },
    config: { type: 'string', multiple: true },
  })
  const problems: string[] = []
  if (values.topic === undefined) problems.push('--topic is required')
  const numPartitions = integerFlag('partitions', values.partitions, problems, 1) ?? (values.partitions === undefined ? 1 : 0)
  const replicationFactor = integerFlag('replication-factor', values['replication-factor'], problems, 1) ??
    (values['replication-factor'] === undefined ? 1 : 0)
  const configs = configFlags(values.config, problems)
  if (problems.length > 0) throw new UsageError(problems)
  const topic = values.topic ?? ''
  return await withAdmin(values['bootstrap-server'], async (admin) => {
    await admin.createTopics([{ topic, numPartitions, replicationFactor, configs }])
    await writeLine(`Created topic ${topic}.`)
    return 0
  })
}

async function listTopics (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { ...bootstrapOption, json: { type: 'boolean' } })
  return await withAdmin(values['bootstrap-server'], async (admin) => {
    const names = await admin.listTopics()
    if (values.json === true) await writeLine(JSON.stringify(names))
    else for (const name of names) await writeLine(name)
    return 0
  })
}

/** `--config k=v` flags as a map; a flag without `=` is a problem. */
function configFlags (entries: readonly string[] | undefined, problems: string[]): Record<string, string> {
  const configs: Record<string, string> = {}
  for (const entry of entries ?? []) {
    const separator = entry.indexOf('=')
    if (separator <= 0) problems.push(`--config '${entry}' is not key=value`)
    else configs[entry.slice(0, separator)] = entry.slice(separator + 1)
  }
  return configs
}

/**
 * `kafka-topics --alter --partitions N` (keyed records map to other partitions afterwards, see docs/cluster.md) and
 * `kafka-configs --alter --add-config k=v --delete-config k` (the topic's configs; printed whole afterwards).
 */
async function alterTopic (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    ...bootstrapOption, topic: { type: 'string' }, partitions: { type: 'string' }, 'validate-only': { type: 'boolean' },
    config: { type: 'string', multiple: true }, 'delete-config': { type: 'string', multiple: true },
  })
  const problems: string[] = []
  if (values.topic === undefined) problems.push('--topic is required')
  const set = configFlags(values.config, problems)
  const deleted = values['delete-config'] ?? []
  const configChange = Object.keys(set).length > 0 || deleted.length > 0
  if (values.partitions === undefined && !configChange) problems.push('--partitions is required (or --config k=v / --delete-config k to change configs)')
  const partitions = values.partitions === undefined ? undefined : integerFlag('partitions', values.partitions, problems, 1)
  if (problems.length > 0) throw new UsageError(problems)
  const topic = values.topic ?? ''
  const validateOnly = values['validate-only'] === true
  return await withAdmin(values['bootstrap-server'], async (admin) => {
    if (partitions !== undefined) {
      await admin.createPartitions([{ topic, partitions }], { validateOnly })
      await writeLine(validateOnly ? `Topic ${topic} can have ${partitions} partitions.` : `Topic ${topic} now has ${partitions} partitions.`)
    }
    if (configChange) {
      const configs = await admin.alterTopicConfigs(topic, { set, delete: deleted }, { validateOnly })
      const listed = Object.entries(configs).sort(([a], [b]) => a.localeCompare(b)).map(([key, value]) => `${key}=${value}`).join(',')
      await writeLine(`${validateOnly ? 'Configs of topic ' + topic + ' would be' : 'Updated configs of topic ' + topic + ':'} ${listed}`)
    }
    return 0
  })
}

async function deleteTopic (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { ...bootstrapOption, topic: { type: 'string', multiple: true } })
  const topics = values.topic ?? []
  if (topics.length === 0) throw new UsageError(['--topic is required'])
  return await withAdmin(values['bootstrap-server'], async (admin) => {
    await admin.deleteTopics(topics)
    for (const topic of topics) await writeLine(`Deleted topic ${topic}.`)
    return 0
  })
}

async function describeTopics (argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    ...bootstrapOption, topic: { type: 'string', multiple: true }, json: { type: 'boolean' },
    'under-replicated-partitions': { type: 'boolean' }, 'unavailable-partitions': { type: 'boolean' },
  })
  const underReplicated = values['under-replicated-partitions'] === true
  const unavailable = values['unavailable-partitions'] === true
  const filtered = underReplicated || unavailable
  const keep = (partition: PartitionInfo): boolean => !filtered ||
    (underReplicated && partition.isr.length < partition.replicas.length) || (unavailable && partition.leader < 0)
  return await withAdmin(values['bootstrap-server'], async (admin) => {
    const overrides = filtered ? new Map<string, Readonly<Record<string, string>>>() : await admin.describeTopicConfigOverrides(values.topic ?? [])
    const topics = (await admin.describeTopics(values.topic ?? []))
      .map((topic) => ({ ...topic, configs: overrides.get(topic.name) ?? {}, partitions: topic.partitions.filter(keep) }))
      .filter((topic) => !filtered || topic.partitions.length > 0)
    if (values.json === true) {
      await writeLine(JSON.stringify({ topics }))
      return 0
    }
    for (const topic of topics) await printTopic(topic, { header: !filtered })
    return 0
  })
}

async function printTopic (topic: TopicDescription & { readonly configs: Readonly<Record<string, string>> }, options: { readonly header: boolean }): Promise<void> {
  if (options.header) {
    const replicationFactor = topic.partitions[0]?.replicas.length ?? 0
    // As kafka-topics --describe: only the configs that differ from the cluster default.
    const configs = Object.entries(topic.configs).map(([name, value]) => `${name}=${value}`).join(',')
    await writeLine(`Topic: ${topic.name}  TopicId: ${topic.topicId}  PartitionCount: ${topic.partitions.length}  ReplicationFactor: ${replicationFactor}  Configs: ${configs}`)
  }
  for (const partition of topic.partitions) {
    const leader = partition.leader < 0 ? 'none' : String(partition.leader)
    const error = partition.errorCode === '' ? '' : `  Error: ${partition.errorCode}`
    await writeLine(`Topic: ${topic.name}  Partition: ${partition.partition}  Leader: ${leader}  ` +
      `Replicas: ${partition.replicas.join(',')}  Isr: ${partition.isr.join(',')}  LeaderEpoch: ${partition.leaderEpoch}${error}`)
  }
}
