#!/usr/bin/env node
/**
 * `npm run chaos -- --seconds S --seed N`: three real Gregor brokers, an acks=all idempotent producer and a group
 * consumer, under a seeded schedule of kill -9 / restart, SIGSTOP / SIGCONT, partitions between brokers (both ways
 * and one way), a leader cut off from its clients, and a broker isolated from everyone. At the end it heals, waits
 * for a full ISR, reads every partition back and prints lost / duplicated / moved / phantom records and the longest
 * unavailability per partition (docs/chaos.md). Exit code: 0 clean, 1 a record was lost, duplicated, moved or
 * invented (or a consumer read uncommitted data), 2 the run itself failed (start, heal, deadline), 130/143 on a
 * signal.
 *
 * This file is two processes. Started normally it is the *outer* one: it re-runs itself under
 * `unshare --net --mount` (root needed), so every namespace, bridge and iptables rule of the run lives in a private
 * network namespace that the host never sees and that vanishes with the run, whatever happens. It forwards
 * SIGINT/SIGTERM, enforces the S + 60 s bound, kills by PID any broker an inner process that died hard left behind,
 * and checks the host's `iptables -S` for GREGOR_CHAOS afterwards. The *inner* one (`GREGOR_CHAOS_PRIVATE_NETNS=1`)
 * is the run: chaos-run.mjs.
 */
import { execFileSync, spawn } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseChaosArgs } from './chaos-args.mjs'

const args = parseChaosArgs(process.argv.slice(2))
if (process.env.GREGOR_CHAOS_PRIVATE_NETNS === '1') {
  const { runChaos } = await import('./chaos-run.mjs')
  process.exitCode = await runChaos(args)
} else {
  process.exitCode = await outer(args)
}

async function outer ({ seconds }) {
  if (process.getuid?.() !== 0) {
    console.error('chaos: needs root (network namespaces and iptables); run it as root or in a container with CAP_NET_ADMIN and CAP_SYS_ADMIN')
    return 2
  }
  const pidFile = join(tmpdir(), `gregor-chaos-${process.pid}.pids`)
  const child = spawn('/usr/bin/unshare', ['--net', '--mount', '--', process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, GREGOR_CHAOS_PRIVATE_NETNS: '1', GREGOR_CHAOS_PIDFILE: pidFile },
  })
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const forward = (signal) => { child.kill(signal) }
  process.on('SIGINT', forward)
  process.on('SIGTERM', forward)
  // The inner process bounds itself to S + 55 s; this is the backstop.
  const hardStop = setTimeout(() => {
    console.error('chaos: over S + 60 s, stopping the run')
    child.kill('SIGTERM')
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref()
  }, (seconds + 60) * 1000)
  const { code, signal } = await exited
  clearTimeout(hardStop)
  killLeftovers(pidFile)
  const hostRules = hostChaosRules()
  if (hostRules.length > 0) console.error(`chaos: the host's iptables has GREGOR_CHAOS lines (not ours: the run uses a private namespace):\n${hostRules.join('\n')}`)
  if (signal !== null) return signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 2
  return code ?? 2
}

/** Brokers and clients that an inner process killed by SIGKILL could not stop: ended by PID, if still ours. */
function killLeftovers (pidFile) {
  let pids = []
  try { pids = readFileSync(pidFile, 'utf8').split('\n').filter((line) => line !== '').map(Number) } catch { return }
  for (const pid of pids) {
    let cmdline = ''
    try { cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8') } catch { continue }
    // A PID may have been reused since: only a process running one of our scripts is ours.
    if (!cmdline.includes('gregor.js') && !cmdline.includes('chaos-client.mjs')) continue
    try { process.kill(pid, 'SIGCONT'); process.kill(pid, 'SIGKILL'); console.error(`chaos: killed leftover pid ${pid}`) } catch { /* gone */ }
  }
  rmSync(pidFile, { force: true })
}

function hostChaosRules () {
  try {
    return execFileSync('/usr/sbin/iptables', ['-w', '5', '-S'], { encoding: 'utf8', timeout: 10_000 }).split('\n').filter((line) => line.includes('GREGOR_CHAOS'))
  } catch {
    return []
  }
}
