/**
 * `gregor produce --topic T`: sends each stdin line as a record (`kafka-console-producer.sh`, kcat `-P`).
 *
 * With `--key-separator S` the line is split at the first S into key and value (a line without S is a keyless
 * record). Lines are sent as they are read, with at most `WINDOW_RECORDS` not yet reported at a time (stdin is paused
 * beyond that, so memory stays bounded however large the input), and reported in input order as soon as a record and
 * every line before it are settled, whether or not more input comes (`tail -f log | gregor produce --json` prints
 * each acknowledgement as it arrives): `--json` prints `{"topic","partition","offset","key","value"}` per
 * acknowledged record. Every failed record is reported on stderr by line number, and then the exit code is 1.
 * `-z/--compression none|gzip|snappy|lz4|zstd` (as kcat's and rpk's `-z`) compresses the batches.
 */
import { createInterface } from 'node:readline'
import { type Acks, COMPRESSION_NAMES, Producer, type RecordMetadata } from '@gregor/client'
import { isGregorError } from '@gregor/common'
import { UsageError, bootstrapOption, bootstrapServers, parseCommandArgs, runClientCommand, tlsOption } from './client-args.js'
import { writeLine } from './client-output.js'

const usage = `usage: gregor produce --topic T [--acks all|1|0] [-z|--compression ${COMPRESSION_NAMES.join('|')}] [--key-separator S] [--json] [-b servers]
  (records from stdin, one per line)
`

/** Records sent and not yet reported; reading stdin waits beyond this. */
const WINDOW_RECORDS = 10_000
/** Failures described on stderr; the rest are only counted. */
const REPORTED_FAILURES_MAX = 100

const acksByFlag: Readonly<Record<string, Acks>> = { all: 'all', '-1': 'all', 1: 'leader', leader: 'leader', 0: 'none', none: 'none' }

interface Pending {
  readonly lineNumber: number
  readonly key: string | null
  readonly value: string
  readonly result: Promise<RecordMetadata[]>
}

export async function produceCommand (argv: string[]): Promise<number> {
  return await runClientCommand('produce', usage, async () => {
    const { values } = parseCommandArgs(argv, {
      ...bootstrapOption, topic: { type: 'string' }, acks: { type: 'string' }, compression: { type: 'string', short: 'z' }, 'key-separator': { type: 'string' }, json: { type: 'boolean' },
    })
    const problems: string[] = []
    if (values.topic === undefined) problems.push('--topic is required')
    const acks = acksByFlag[values.acks ?? 'all']
    if (acks === undefined) problems.push(`--acks must be all, 1 or 0 (got '${values.acks ?? ''}')`)
    const compression = COMPRESSION_NAMES.find((name) => name === (values.compression ?? 'none'))
    if (compression === undefined) problems.push(`--compression must be one of ${COMPRESSION_NAMES.join(', ')} (got '${values.compression ?? ''}')`)
    if (values['key-separator'] === '') problems.push('--key-separator must not be empty')
    if (problems.length > 0) throw new UsageError(problems)
    const servers = bootstrapServers(values['bootstrap-server'])
    const producer = new Producer({ bootstrapServers: servers, acks, compression, ...tlsOption() })
    try {
      return await produceLines(producer, { topic: values.topic ?? '', separator: values['key-separator'], json: values.json === true })
    } finally {
      await producer.close()
    }
  })
}

async function produceLines (
  producer: Producer,
  options: { readonly topic: string; readonly separator: string | undefined; readonly json: boolean },
): Promise<number> {
  const failures = { count: 0, total: 0 }
  let lineNumber = 0
  /** Reports one record once its send settled; never rejects, so the chain of reports never breaks. */
  const report = async (sent: Pending): Promise<void> => {
    failures.total++
    try {
      const [metadata] = await sent.result
      if (options.json && metadata !== undefined) {
        await writeLine(JSON.stringify({ topic: metadata.topic, partition: metadata.partition, offset: metadata.offset, key: sent.key, value: sent.value }))
      }
    } catch (error) {
      failures.count++
      if (failures.count <= REPORTED_FAILURES_MAX) {
        const reason = isGregorError(error) ? `${error.code}: ${error.message}` : String(error)
        process.stderr.write(`gregor produce: line ${sent.lineNumber} failed: ${reason}\n`)
      }
    }
  }
  // Each record's report is chained after the previous one's, so reports keep input order, and each runs as soon as
  // its send settles: not when the window fills or the input ends (stdin may never end: `tail -f`).
  let reported: Promise<void> = Promise.resolve()
  /** The reports not yet known to be done, oldest first: the window. */
  const unreported: Array<Promise<void>> = []
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    lineNumber++
    const { key, value } = splitLine(line, options.separator)
    const result = producer.send({ topic: options.topic, messages: [{ key, value }] })
    result.catch(() => undefined) // reported (with its failure) in order by `report`
    const sent: Pending = { lineNumber, key, value, result }
    reported = reported.then(async () => { await report(sent) })
    unreported.push(reported)
    if (unreported.length >= WINDOW_RECORDS) await unreported.shift()
  }
  await reported
  if (failures.count === 0) return 0
  process.stderr.write(`gregor produce: ${failures.count} of ${failures.total} records failed` +
    `${failures.count > REPORTED_FAILURES_MAX ? ` (first ${REPORTED_FAILURES_MAX} listed)` : ''}\n`)
  return 1
}

/** Key and value of a line: split at the first separator when one is given and present. */
export function splitLine (line: string, separator: string | undefined): { key: string | null; value: string } {
  if (separator === undefined) return { key: null, value: line }
  const at = line.indexOf(separator)
  return at < 0 ? { key: null, value: line } : { key: line.slice(0, at), value: line.slice(at + separator.length) }
}
