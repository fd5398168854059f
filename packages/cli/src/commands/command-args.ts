/**
 * Argument handling and the exit-code convention of every command: `node:util` parseArgs with every problem
 * reported as a usage error; 0 ok, 1 the operation failed, 2 usage or config error (with a message listing the
 * problems). Apart from `client-args.ts` so that `gregor healthcheck`, which a container runs every few seconds,
 * does not load the client library (grpc-js, protobufjs) to answer one HTTP request.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { ErrorCode, isGregorError } from '@gregor/common'

/** A command line that cannot run: exit 2 with these problems. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
  readonly problems: readonly string[]

  constructor (problems: readonly string[]) {
    super(problems.join('; '))
    this.problems = problems
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>

/** parseArgs (strict, no positionals unless allowed) with its TypeErrors turned into a UsageError. */
export function parseCommandArgs<T extends Options> (argv: string[], options: T, allowPositionals = false): ReturnType<typeof parseArgs<{ options: T; allowPositionals: boolean; strict: true }>> {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true })
  } catch (error) {
    throw new UsageError([error instanceof Error ? error.message : String(error)])
  }
}

/** Parses a non-negative integer flag; undefined stays undefined; anything else goes into `problems`. */
export function integerFlag (name: string, value: string | undefined, problems: string[], min = 0): number | undefined {
  if (value === undefined) return undefined
  const parsed = /^-?\d+$/.test(value.trim()) ? Number(value) : NaN
  if (!Number.isSafeInteger(parsed) || parsed < min) {
    problems.push(`--${name} must be an integer ≥ ${min} (got '${value}')`)
    return undefined
  }
  return parsed
}

/** Runs the action named by argv's first word with the words after it; a missing or unknown action is a usage error. */
export async function runAction (argv: readonly string[], actions: Readonly<Record<string, (rest: string[]) => Promise<number>>>): Promise<number> {
  const [action, ...rest] = argv
  const run = action !== undefined && Object.prototype.hasOwnProperty.call(actions, action) ? actions[action] : undefined
  if (run === undefined) throw new UsageError([action === undefined ? 'missing action' : `unknown action '${action}'`])
  return await run(rest)
}

/** Runs a command body with the exit-code convention; prints `gregor <name>: …` on stderr for failures. */
export async function runClientCommand (name: string, usage: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body()
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`gregor ${name}: ${error.problems.length === 1 ? error.problems[0] ?? '' : 'usage errors:'}\n`)
      if (error.problems.length > 1) for (const problem of error.problems) process.stderr.write(`  - ${problem}\n`)
      process.stderr.write(usage)
      return 2
    }
    if (isGregorError(error)) {
      process.stderr.write(`gregor ${name}: ${error.code}: ${error.message}\n`)
      return error.code === ErrorCode.INVALID_CONFIG ? 2 : 1
    }
    process.stderr.write(`gregor ${name}: ${error instanceof Error ? error.message : String(error)}\n`)
    return 1
  }
}
