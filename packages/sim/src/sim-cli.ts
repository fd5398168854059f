/**
 * `npm run sim:cluster -- --seeds N --start S [--trace]`: runs whole-cluster simulation seeds S..S+N-1 and prints one
 * summary line; on a violation, each failing seed with the command that replays it, the invariant, and the tail of
 * its event log (`--trace` prints a seed's whole event log), and exits non-zero.
 *
 * The one I/O entry point of the simulation: argv, stdout, the exit code and the wall clock for the summary.
 */
import { argv, exit, stdout } from 'node:process'
import { performance } from 'node:perf_hooks'
import { runClusterSimulation } from './cluster-simulation.js'
import { drawClusterSimParams } from './cluster-sim-params.js'

interface CliOptions {
  seeds: number
  start: number
  trace: boolean
  verbose: boolean
  diskFaults: boolean
}

function parseArgs (args: readonly string[]): CliOptions {
  const options: CliOptions = { seeds: 20, start: 1, trace: false, verbose: false, diskFaults: true }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    const value = Number(args[i + 1])
    if (arg === '--seeds' && Number.isSafeInteger(value) && value > 0) { options.seeds = value; i++ }
    else if (arg === '--start' && Number.isSafeInteger(value)) { options.start = value; i++ }
    else if (arg === '--trace') options.trace = true
    else if (arg === '--verbose') options.verbose = true
    else if (arg === '--no-disk-faults') options.diskFaults = false
    else {
      stdout.write(`usage: sim:cluster [--seeds N] [--start S] [--trace] [--verbose] [--no-disk-faults]\n(bad argument: ${arg})\n`)
      exit(2)
    }
  }
  return options
}

async function main (): Promise<void> {
  const options = parseArgs(argv.slice(2))
  const startedMs = performance.now()
  let events = 0
  let virtualTimeMs = 0
  let acknowledged = 0
  let faults = 0
  let failures = 0
  for (let seed = options.start; seed < options.start + options.seeds; seed++) {
    const params = drawClusterSimParams(seed, { diskFaults: options.diskFaults })
    const result = await runClusterSimulation(params, { traceAll: options.trace })
    events += result.events
    virtualTimeMs += result.virtualTimeMs
    acknowledged += result.stats.acknowledged
    faults += result.stats.faults
    if (options.verbose) stdout.write(`seed=${seed} events=${result.events} virtualMs=${Math.round(result.virtualTimeMs)} ${JSON.stringify(result.stats)}\n`)
    if (options.trace) stdout.write(result.trace.map((line) => `  ${line}`).join('\n') + '\n')
    if (result.failure === undefined) continue
    failures++
    stdout.write([
      `FAIL seed=${seed} invariant="${result.failure.invariant}" at ${result.failure.timeMs.toFixed(1)}ms`,
      `  replay: npm run sim:cluster -- --seeds 1 --start ${seed} --trace${options.diskFaults ? '' : ' --no-disk-faults'}`,
      `  params: ${JSON.stringify(params)}`,
      `  ${result.failure.message.split('\n').slice(0, 8).join('\n  ')}`,
      '  trace tail:',
      ...result.trace.slice(-40).map((line) => `    ${line}`),
      '',
    ].join('\n'))
  }
  const wallMs = performance.now() - startedMs
  stdout.write(`sim:cluster seeds=${options.seeds} start=${options.start} diskFaults=${options.diskFaults} events=${events} virtualTimeMs=${Math.round(virtualTimeMs)} ` +
    `acknowledged=${acknowledged} faults=${faults} failures=${failures} wallMs=${Math.round(wallMs)}\n`)
  exit(failures === 0 ? 0 : 1)
}

await main()
