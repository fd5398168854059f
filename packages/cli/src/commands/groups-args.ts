/**
 * Argument parsing of `gregor groups` that is more than a flag lookup, pure so it is unit-tested: the
 * `--topic T[:P,P]` selector, the one reset specification among `--to-earliest | --to-latest | --to-offset N |
 * --to-datetime ISO | --shift-by N`, the `--state [S,S]` filter, and the argv fix-ups that let a user type what they
 * type for Kafka's tool (`--shift-by -5`, a bare `--state`), which `node:util` parseArgs would otherwise refuse.
 */
import type { OffsetResetSpec } from '@gregor/client'

export interface TopicSelection {
  readonly topic: string
  /** undefined: every partition of the topic. */
  readonly partitions: number[] | undefined
}

/** `orders` or `orders:0,2` (Kafka's `--topic` of `--reset-offsets`); problems go into `problems`. */
export function topicSelection (value: string, problems: string[]): TopicSelection | undefined {
  const separator = value.indexOf(':')
  const topic = separator < 0 ? value : value.slice(0, separator)
  if (topic === '') {
    problems.push(`--topic '${value}' names no topic`)
    return undefined
  }
  if (separator < 0) return { topic, partitions: undefined }
  const partitions: number[] = []
  for (const part of value.slice(separator + 1).split(',')) {
    const partition = /^\d+$/.test(part.trim()) ? Number(part) : NaN
    if (!Number.isSafeInteger(partition)) {
      problems.push(`--topic '${value}': partitions must be integers ≥ 0 separated by commas (got '${part}')`)
      return undefined
    }
    if (!partitions.includes(partition)) partitions.push(partition)
  }
  return { topic, partitions: partitions.sort((a, b) => a - b) }
}

/** A signed integer flag (`--shift-by -5`); undefined stays undefined. */
export function signedIntegerFlag (name: string, value: string | undefined, problems: string[]): number | undefined {
  if (value === undefined) return undefined
  const parsed = /^[-+]?\d+$/.test(value.trim()) ? Number(value) : NaN
  if (!Number.isSafeInteger(parsed)) {
    problems.push(`--${name} must be an integer (got '${value}')`)
    return undefined
  }
  return parsed
}

export interface ResetSpecFlags {
  readonly 'to-earliest'?: boolean | undefined
  readonly 'to-latest'?: boolean | undefined
  readonly 'to-offset'?: string | undefined
  readonly 'to-datetime'?: string | undefined
  readonly 'shift-by'?: string | undefined
}

/**
 * Exactly one reset specification. `--to-datetime` takes what `Date.parse` takes, as Kafka's
 * `YYYY-MM-DDTHH:mm:SS.sss` with an optional zone (`Z`, `+02:00`); without a zone it is local time, as in Kafka.
 */
export function resetSpec (flags: ResetSpecFlags, problems: string[]): OffsetResetSpec | undefined {
  const given = (['to-earliest', 'to-latest', 'to-offset', 'to-datetime', 'shift-by'] as const)
    .filter((name) => flags[name] !== undefined && flags[name] !== false)
  if (given.length !== 1) {
    problems.push(given.length === 0
      ? 'one of --to-earliest, --to-latest, --to-offset N, --to-datetime ISO, --shift-by N is required'
      : `only one reset specification may be given (got ${given.map((name) => `--${name}`).join(', ')})`)
    return undefined
  }
  if (flags['to-earliest'] === true) return { kind: 'earliest' }
  if (flags['to-latest'] === true) return { kind: 'latest' }
  if (flags['to-offset'] !== undefined) {
    const offset = signedIntegerFlag('to-offset', flags['to-offset'], problems)
    if (offset === undefined) return undefined
    if (offset < 0) {
      problems.push(`--to-offset must be ≥ 0 (got '${flags['to-offset']}')`)
      return undefined
    }
    return { kind: 'offset', offset }
  }
  if (flags['to-datetime'] !== undefined) {
    const timestampMs = Date.parse(flags['to-datetime'])
    if (Number.isNaN(timestampMs)) {
      problems.push(`--to-datetime must be a date-time like 2024-05-01T12:00:00.000 or 2024-05-01T12:00:00Z (got '${flags['to-datetime']}')`)
      return undefined
    }
    return { kind: 'datetime', timestampMs }
  }
  const by = signedIntegerFlag('shift-by', flags['shift-by'], problems)
  return by === undefined ? undefined : { kind: 'shift', by }
}

/**
 * `--shift-by -5` → `--shift-by=-5` for the named flags: parseArgs refuses a value that starts with a dash as
 * ambiguous, but a negative shift is what Kafka users type.
 */
export function attachNegativeValues (argv: readonly string[], flags: readonly string[]): string[] {
  const result: string[] = []
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] ?? ''
    const next = argv[index + 1]
    if (flags.includes(arg) && next !== undefined && /^-\d+$/.test(next)) {
      result.push(`${arg}=${next}`)
      index++
    } else {
      result.push(arg)
    }
  }
  return result
}

/** A bare `--state` (last, or followed by another option) → `--state=`: Kafka's `--list --state` without a filter. */
export function allowBareFlag (argv: readonly string[], flag: string): string[] {
  return argv.map((arg, index) => {
    const next = argv[index + 1]
    return arg === flag && (next === undefined || next.startsWith('-')) ? `${flag}=` : arg
  })
}

/** `Stable,Empty` → `['stable', 'empty']` (the wire's lower case); '' → no filter. */
export function stateFilter (value: string): string[] {
  return value.split(',').map((state) => state.trim().toLowerCase()).filter((state) => state !== '')
}
