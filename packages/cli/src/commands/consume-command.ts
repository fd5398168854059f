/**
 * `gregor consume --topic T`: prints records (`kafka-console-consumer.sh`, kcat `-C`), the value per line, or with
 * `--json` `{"topic","partition","offset","timestamp","key","value","headers"}` per line (keys, values and header
 * values as UTF-8 text, null kept).
 *
 * Starts at the end of each partition unless `--from-beginning` or `--offset O` (which needs `--partition`) says
 * otherwise; reads every partition of the topic unless `--partition P`. Stops after `--max-messages N`, after
 * `--timeout-ms T` without a new record, or on SIGINT/SIGTERM; prints how many records it processed on stderr.
 */
import { Admin, Consumer, type ConsumerAssignment, type StartOffset } from '@gregor/client'
import { UsageError, bootstrapOption, bootstrapServers, integerFlag, parseCommandArgs, runClientCommand } from './client-args.js'
import { headersObject, text, writeLine } from './client-output.js'

const usage = `usage: gregor consume --topic T [--partition P] [--from-beginning | --offset O] [--max-messages N] [--timeout-ms T] [--json] [-b servers]
`

interface ConsumeOptions {
  readonly servers: string[]
  readonly topic: string
  readonly partition: number | undefined
  readonly start: StartOffset
  readonly maxMessages: number | undefined
  readonly timeoutMs: number | undefined
  readonly json: boolean
}

export async function consumeCommand (argv: string[]): Promise<number> {
  return await runClientCommand('consume', usage, async () => {
    const options = consumeOptions(argv)
    const assignments = await assignmentsFor(options)
    // As Kafka's console consumer: a position that retention overtook resets to the start with --from-beginning,
    // else to the end (auto.offset.reset=latest).
    const consumer = new Consumer({ bootstrapServers: options.servers, autoOffsetReset: options.start === 'earliest' ? 'earliest' : 'latest' })
    consumer.assign(assignments)
    return await printRecords(consumer, options)
  })
}

function consumeOptions (argv: string[]): ConsumeOptions {
  const { values } = parseCommandArgs(argv, {
    ...bootstrapOption, topic: { type: 'string' }, partition: { type: 'string' }, 'from-beginning': { type: 'boolean' },
    offset: { type: 'string' }, 'max-messages': { type: 'string' }, 'timeout-ms': { type: 'string' }, json: { type: 'boolean' },
  })
  const problems: string[] = []
  if (values.topic === undefined) problems.push('--topic is required')
  const partition = integerFlag('partition', values.partition, problems)
  const offset = integerFlag('offset', values.offset, problems)
  const maxMessages = integerFlag('max-messages', values['max-messages'], problems, 1)
  const timeoutMs = integerFlag('timeout-ms', values['timeout-ms'], problems, 1)
  if (values['from-beginning'] === true && values.offset !== undefined) problems.push('--from-beginning and --offset exclude each other')
  if (values.offset !== undefined && values.partition === undefined) problems.push('--offset needs --partition')
  if (problems.length > 0) throw new UsageError(problems)
  const start: StartOffset = offset ?? (values['from-beginning'] === true ? 'earliest' : 'latest')
  return {
    servers: bootstrapServers(values['bootstrap-server']),
    topic: values.topic ?? '', partition, start, maxMessages, timeoutMs, json: values.json === true,
  }
}

/** One partition if given, else every partition of the topic (from metadata; unknown topic fails). */
async function assignmentsFor (options: ConsumeOptions): Promise<ConsumerAssignment[]> {
  const { topic, partition, start } = options
  if (partition !== undefined) return [{ topic, partition, offset: start }]
  const admin = new Admin({ bootstrapServers: options.servers })
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
  const resetIdle = (): void => {
    if (options.timeoutMs === undefined) return
    clearTimeout(idleTimer)
    idleTimer = setTimeout(() => { consumer.close() }, options.timeoutMs)
  }
  const onSignal = (): void => { consumer.close() }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  resetIdle()
  try {
    for await (const message of consumer) {
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
    consumer.close()
    process.stderr.write(`Processed a total of ${count} messages\n`)
  }
  return 0
}
