#!/usr/bin/env node
/**
 * Three brokers with `node --cpu-prof`, for finding where a broker's time goes under a bench (issue 12): started from
 * this checkout's build (`npx tsc -b` first) on fixed ports (Kafka 19092+, gRPC 19292+, broker 19192+, admin 18081+,
 * each plus `--port-offset`), in a temp dir, with a topic `t` of 3 partitions, RF 3. It prints the gRPC bootstrap
 * servers and the admin URLs, then waits: run `gregor bench produce|consume -b … --metrics-urls …` against it, then
 * Ctrl-C (or SIGTERM to its PID). The brokers stop cleanly, so each writes its `.cpuprofile` into `--prof-dir`;
 * summarize one with `node scripts/bench/cpu-profile-summary.mjs <file> --from append`.
 *
 * Usage: node scripts/bench/profile-cluster.mjs --prof-dir D [--port-offset K]
 */
import { execFile } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { BrokerProcesses, waitFor } from '../../packages/cli/dist/index.js'

const { values } = parseArgs({ options: { 'prof-dir': { type: 'string' }, 'port-offset': { type: 'string', default: '0' } }, strict: true })
if (values['prof-dir'] === undefined) {
  process.stderr.write('usage: node scripts/bench/profile-cluster.mjs --prof-dir D [--port-offset K]\n')
  process.exit(2)
}
const profDir = resolve(values['prof-dir'])
const offset = Number(values['port-offset'])
await mkdir(profDir, { recursive: true })
const gregor = fileURLToPath(new URL('../../packages/cli/bin/gregor.js', import.meta.url))
const cluster = await BrokerProcesses.start({
  logLevel: 'warn',
  nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`],
  ports: { kafka: 19092 + offset, client: 19292 + offset, broker: 19192 + offset, admin: 18081 + offset },
})
const stop = async () => { await cluster.stop(); process.exit(0) }
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
await waitFor('topic t created', async () => {
  try {
    await promisify(execFile)(process.execPath, [gregor, 'topics', 'create', '--topic', 't', '--partitions', '3', '--replication-factor', '3', '-b', cluster.bootstrapServers])
    return true
  } catch { return undefined }
}, { timeoutMs: 60_000, intervalMs: 500 })
process.stdout.write(`bootstrap ${cluster.bootstrapServers}\nmetrics ${cluster.brokers.map((broker) => broker.adminUrl).join(',')}\nprofiles ${profDir} (written when the brokers stop: Ctrl-C)\n`)
