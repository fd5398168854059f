/**
 * `gregor consume --topic T`: prints records (`kafka-console-consumer.sh`, kcat `-C`), the value per line, or with
 * `--json` `{"topic","partition","offset","timestamp","key","value","headers"}` per line (keys, values and header
 * values as UTF-8 text, null kept).
 *
 * Starts at the end of each partition unless `--from-beginning` or `--offset O` (which needs `--partition`) says
 * otherwise; reads every partition of the topic unless `--partition P`. Stops after `--max-messages N`, after
 * `--timeout-ms T` without a new record, or on SIGINT/SIGTERM; prints how many records it processed on stderr.
 *
 * With `--group G` it consumes as a member of that group (as `kafka-console-consumer --group`): subscribes to the
 * topic, reads the partitions the coordinator assigns it, resumes from the group's committed offsets, and where
 * nothing is committed starts at the end, or at the beginning with `--from-beginning` (auto.offset.reset). Offsets
 * are committed automatically; every way of stopping (max messages, idle timeout, SIGINT, SIGTERM) goes through
 * `consumer.close()`, which commits what was printed and leaves the group at once, so the partitions move to the
 * other members without waiting for the session timeout. `--auto-commit-interval-ms` sets how often the positions
 * are committed in between (auto.commit.interval.ms, default 5000): what a crash re-delivers. `--partition` and
 * `--offset` make no sense in a group (the coordinator assigns, the commits position) and are usage errors.
 */
import { Admin, Consumer, type ConsumerAssignment, type StartOffset } from '@gregor/client'
import { UsageError, bootstrapOption, bootstrapServers, integerFlag, parseCommandArgs, runClientCommand, tlsOption } from './client-args.js'
import { headersObject, text, writeLine } from './client-output.js'

const usage = `usage:
  gregor consume --topic T [--partition P] [--from-beginning | --offset O] [--max-messages N] [--timeout-ms T] [--json] [-b servers]
  gregor consume --topic T --group G [--from-beginning] [--client-id C] [--auto-commit-interval-ms MS] [--max-messages N] [--timeout-ms T] [--json] [-b servers]
`

interface ConsumeOptions {
  readonly servers: string[]
  readonly topic: string
  readonly partition: number | undefined
  readonly start: StartOffset
  readonly maxMessages: number | undefined
  readonly timeoutMs: number | undefined
  readonly json: boolean
  readonly groupId: string | undefined
  readonly clientId: string | undefined
  readonly autoCommitIntervalMs: number | undefined
}

export async function consumeCommand (argv: string[]): Promise<number> {
  return await runClientCommand('consume', usage, async () => {
    const options = consumeOptions(argv)
    if (options.groupId !== undefined) {
      const consumer = new Consumer({
        bootstrapServers: options.servers, ...tlsOption(), groupId: options.groupId, autoOffsetReset: options.start === 'earliest' ? 'earliest' : 'latest',
        ...(options.clientId === undefined ? {} : { clientId: options.clientId }),
        ...(options.autoCommitIntervalMs === undefined ? {} : { autoCommitIntervalMs: options.autoCommitIntervalMs }),
      })
      consumer.subscribe([options.topic])
      return await printRecords(consumer, options)
    }
    const assignments = await assignmentsFor(options)
    // As Kafka's console consumer: a position that retention overtook resets to the start with --from-beginning,
    // else to the end (auto.offset.reset=latest).
    const consumer = new Consumer({ bootstrapServers: options.servers, ...tlsOption(), autoOffsetReset: options.start === 'earliest' ? 'earliest' : 'latest' })
    consumer.assign(assignments)
    return await printRecords(consumer, options)
  })
}

function consumeOptions (argv: string[]): ConsumeOptions {
  const { values } = parseCommandArgs(argv, {
    ...bootstrapOption, topic: { type: 'string' }, partition: { type: 'string' }, 'from-beginning': { type: 'boolean' },
    offset: { type: 'string' }, 'max-messages': { type: 'string' }, 'timeout-ms': { type: 'string' }, json: { type: 'boolean' },
    group: { type: 'string' }, 'client-id': { type: 'string' }, 'auto-commit-interval-ms': { type: 'string' },
  })
  const problems: string[] = []
  if (values.topic === undefined) problems.push('--topic is required')
  const partition = integerFlag('partition', values.partition, problems)
  const offset = integerFlag('offset', values.offset, problems)
  const maxMessages = integerFlag('max-messages', values['max-messages'], problems, 1)
  const timeoutMs = integerFlag('timeout-ms', values['timeout-ms'], problems, 1)
  const autoCommitIntervalMs = integerFlag('auto-commit-interval-ms', values['auto-commit-interval-ms'], problems, 1)
  if (values['from-beginning'] === true && values.offset !== undefined) problems.push('--from-beginning and --offset exclude each other')
  if (values.group !== undefined) {
    if (values.group === '') problems.push('--group must not be empty')
    if (values.partition !== undefined) problems.push('--partition cannot be used with --group (the group coordinator assigns partitions)')
    if (values.offset !== undefined) problems.push('--offset cannot be used with --group (members start at the committed offsets)')
  } else {
    if (values.offset !== undefined && values.partition === undefined) problems.push('--offset needs --partition')
    if (values['client-id'] !== undefined) problems.push('--client-id needs --group')
    if (values['auto-commit-interval-ms'] !== undefined) problems.push('--auto-commit-interval-ms needs --group')
  }
  if (problems.length > 0) throw new UsageError(problems)
  const start: StartOffset = offset ?? (values['from-beginning'] === true ? 'earliest' : 'latest')
  return {
    servers: bootstrapServers(values['bootstrap-server']),
    topic: values.topic ?? '', partition, start, maxMessages, timeoutMs, json: values.json === true,
    groupId: values.group, clientId: values['client-id'], autoCommitIntervalMs,
  }
}

/** One partition if given, else every partition of the topic (from metadata; unknown topic fails). */
async function assignmentsFor (options: ConsumeOptions): Promise<ConsumerAssignment[]> {
  const { topic, partition, start } = options
  if (partition !== undefined) return [{ topic, partition, offset: start }]
  const admin = new Admin({ bootstrapServers: options.servers, ...tlsOption() })
  try {
    const [description] = await admin.describeTopics([topic])
    return (description?.partitions ?? []).map((info) => ({ topic, partition: info.partition, offset: start }))
  } finally {
    admin.close()
  }
}

async function printRecords (consumer: Consumer, options: ConsumeOptions): Promise<number> {
  let count = 0
  let idleTimer: NodeJS.Timeout | undefined
  // Every way of stopping awaits the consumer's one close: with a group it commits and leaves before the process exits.
  const close = async (): Promise<void> => { await consumer.close() }
  const closeInBackground = (): void => { close().catch(() => undefined) } // the error surfaces where `finally` awaits it
  const resetIdle = (): void => {
    if (options.timeoutMs === undefined) return
    clearTimeout(idleTimer)
    idleTimer = setTimeout(closeInBackground, options.timeoutMs)
  }
  const onSignal = closeInBackground
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  resetIdle()
  const iterator = consumer[Symbol.asyncIterator]()
  try {
    for (;;) {
      const next = await iterator.next()
      if (next.done === true) break
      const message = next.value
      resetIdle()
      count++
      await writeLine(options.json
        ? JSON.stringify({
          topic: message.topic, partition: message.partition, offset: message.offset, timestamp: message.timestamp,
          key: text(message.key), value: text(message.value), headers: headersObject(message.headers),
        })
        : text(message.value) ?? 'null')
      if (options.maxMessages !== undefined && count >= options.maxMessages) break
    }
  } finally {
    clearTimeout(idleTimer)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    process.stderr.write(`Processed a total of ${count} messages\n`)
    // Closing the iterator marks the record last printed as processed, so the close after it commits it.
    await iterator.return(undefined)
    await close()
  }
  return 0
}
