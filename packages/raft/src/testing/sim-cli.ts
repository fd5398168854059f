/**
 * `npm run sim -- --seeds N --start S`: runs simulation seeds S..S+N-1 and prints one summary line; on failure, each
 * failing seed with its replay command, the violated invariant and the trace tail, and exits non-zero.
 *
 * The one I/O entry point of the raft package: argv, stdout, the exit code and the wall clock for events/sec come
 * from node:process and node:perf_hooks here, and nowhere else (the architecture test allows exactly this file).
 */
import { argv, exit, stdout } from 'node:process'
import { performance } from 'node:perf_hooks'
import { runSimulation } from './sim-cluster.js'
import { drawSimParams } from './sim-params.js'

interface CliOptions {
  seeds: number
  start: number
  nodes: number | undefined
  verbose: boolean
}

function parseArgs (args: readonly string[]): CliOptions {
  const options: CliOptions = { seeds: 100, start: 1, nodes: undefined, verbose: false }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    const value = Number(args[i + 1])
    if (arg === '--seeds' && Number.isSafeInteger(value) && value > 0) { options.seeds = value; i++ }
    else if (arg === '--start' && Number.isSafeInteger(value)) { options.start = value; i++ }
    else if (arg === '--nodes' && (value === 3 || value === 5 || value === 1 || value === 7)) { options.nodes = value; i++ }
    else if (arg === '--verbose') options.verbose = true
    else {
      stdout.write(`usage: sim [--seeds N] [--start S] [--nodes 3|5] [--verbose]\n(bad argument: ${arg})\n`)
      exit(2)
    }
  }
  return options
}

function main (): void {
  const options = parseArgs(argv.slice(2))
  const startedMs = performance.now()
  let events = 0
  let virtualTimeMs = 0
  let failures = 0
  for (let seed = options.start; seed < options.start + options.seeds; seed++) {
    const params = drawSimParams(seed, options.nodes === undefined ? {} : { nodeCount: options.nodes })
    const result = runSimulation(params)
    events += result.events
    virtualTimeMs += result.virtualTimeMs
    if (options.verbose) stdout.write(`seed=${seed} events=${result.events} ${JSON.stringify(result.stats)}\n`)
    if (result.failure === undefined) continue
    failures++
    const nodesFlag = options.nodes === undefined ? '' : ` --nodes ${options.nodes}`
    stdout.write([
      `FAIL seed=${seed} invariant="${result.failure.invariant}" at ${result.failure.timeMs.toFixed(1)}ms`,
      `  replay: npm run sim -- --seeds 1 --start ${seed}${nodesFlag}`,
      `  params: ${JSON.stringify(params)}`,
      `  ${result.failure.message.split('\n').slice(0, 6).join('\n  ')}`,
      '  trace tail:',
      ...result.failure.trace.map((line) => `    ${line}`),
      '',
    ].join('\n'))
  }
  const wallMs = performance.now() - startedMs
  stdout.write(`sim: seeds=${options.seeds} start=${options.start} events=${events} virtualTimeMs=${Math.round(virtualTimeMs)} ` +
    `failures=${failures} wallMs=${Math.round(wallMs)} eventsPerSec=${Math.round(events / (wallMs / 1000))}\n`)
  exit(failures === 0 ? 0 : 1)
}

main()
