#!/usr/bin/env node
/**
 * The `gregor` command. `gregor bench …` runs in a child node with the brokers' heap flag (BROKER_NODE_ARGS in
 * src/broker-processes.ts says why: a client moving tens of MB of Buffers per second otherwise pays for a full
 * mark-compact every ~8 MB of them; measured on the consume bench, 0.84–0.89 → 0.72 µs of client CPU per record).
 * NODE_OPTIONS refuses the flag and V8 sizes its heap before any code runs, so the bench re-runs itself with it, as
 * Kafka's tool scripts give the JVM its heap options. The parent only waits: it passes signals on and exits with the
 * child's status. Every other command runs in this process.
 */
import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import { fileURLToPath } from 'node:url'

const benchNodeArgs = ['--initial-old-space-size=128']
const args = process.argv.slice(2)
if (args[0] === 'bench' && !benchNodeArgs.every((flag) => process.execArgv.includes(flag))) {
  const child = spawn(process.execPath, [...process.execArgv, ...benchNodeArgs, fileURLToPath(import.meta.url), ...args], { stdio: 'inherit' })
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => { child.kill(signal) })
  child.on('exit', (code, signal) => { process.exitCode = code ?? 128 + (signal === null ? 1 : constants.signals[signal]) })
} else {
  const { main } = await import('../dist/main.js')
  process.exitCode = await main(args)
}
