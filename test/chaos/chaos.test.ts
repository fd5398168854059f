/**
 * The chaos command (scripts/chaos, docs/chaos.md): a short run of real brokers under a fixed seed must end clean
 * (nothing lost, duplicated, moved or invented), within its bound, and leave no GREGOR_CHAOS rule and no broker
 * behind, also when interrupted in the middle of a fault; and its verdict function must notice each kind of
 * violation, so a clean run means something.
 *
 * The run needs root (network namespaces, iptables) and the built CLI and client (`npm test` builds first); it is
 * skipped, saying why, where it cannot run.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { checkRecords } from '../../scripts/chaos/check-records.mjs'
import { faultSchedule } from '../../scripts/chaos/fault-schedule.mjs'

const root = fileURLToPath(new URL('../../', import.meta.url))
const chaosScript = fileURLToPath(new URL('../../scripts/chaos/chaos.mjs', import.meta.url))
const built = existsSync(`${root}packages/cli/dist/main.js`) && existsSync(`${root}packages/client/dist/index.js`)
const isRoot = process.getuid?.() === 0
const faultSeconds = 35
const seed = 7

function hostChaosRules (): string[] {
  return execFileSync('/usr/sbin/iptables', ['-w', '5', '-S'], { encoding: 'utf8' }).split('\n').filter((line) => line.includes('GREGOR_CHAOS'))
}

interface Row { ackMs: number; partition: number; offset: number; seq: number }

const window = { startMs: 0, endMs: 1_000 }
const acked: Row[] = [
  { ackMs: 100, partition: 0, offset: 0, seq: 0 },
  { ackMs: 200, partition: 0, offset: 1, seq: 1 },
  { ackMs: 700, partition: 1, offset: 0, seq: 2 },
]
const cleanLogs = (): Map<number, Array<{ offset: number; value: string | null }>> => new Map([
  [0, [{ offset: 0, value: '0:0' }, { offset: 1, value: '0:1' }]],
  [1, [{ offset: 0, value: '1:2' }, { offset: 1, value: '1:3' }]],
])

describe('checkRecords', () => {
  it('finds nothing wrong in a clean run, and the longest gap between acks per partition', () => {
    const verdict = checkRecords({ acked, logs: cleanLogs(), consumed: [{ partition: 1, offset: 1, value: '1:3' }], issued: 4, window, partitions: 2 })
    expect(verdict).toMatchObject({ lost: 0, duplicated: 0, moved: 0, phantom: 0, consumerDiverged: 0, stored: 4, ackedNotConsumed: 3 })
    expect(verdict.unavailableMs).toEqual({ 0: 800, 1: 700 })
  })

  it('counts a lost, a duplicated, a moved and a phantom record, and a consumer that read a truncated one', () => {
    const logs = new Map([
      [0, [{ offset: 0, value: '0:1' }, { offset: 1, value: '0:1' }, { offset: 2, value: '0:9' }]], // 0:0 lost, 0:1 twice and moved, 0:9 never issued
      [1, [{ offset: 0, value: '1:2' }]],
    ])
    const consumed = [{ partition: 1, offset: 0, value: '1:3' }]
    const verdict = checkRecords({ acked, logs, consumed, issued: 4, window, partitions: 2 })
    expect(verdict).toMatchObject({ lost: 1, duplicated: 1, moved: 0, phantom: 1, consumerDiverged: 1 })
    const shifted = new Map([[0, [{ offset: 0, value: '0:1' }, { offset: 1, value: '0:0' }]], [1, [{ offset: 0, value: '1:2' }]]])
    expect(checkRecords({ acked, logs: shifted, consumed: [], issued: 4, window, partitions: 2 }).moved).toBe(2)
  })

  it('counts records reported failed that were stored anyway, apart from the violations', () => {
    const failed = [{ partition: 1, seq: 3, code: 'REQUEST_TIMED_OUT' }, { partition: 1, seq: 4, code: 'REQUEST_TIMED_OUT' }]
    const verdict = checkRecords({ acked, logs: cleanLogs(), consumed: [], failed, issued: 5, window, partitions: 2 })
    expect(verdict).toMatchObject({ failedStored: 1, lost: 0, duplicated: 0, moved: 0, phantom: 0 })
    expect(verdict.examples.failedStored).toEqual(['seq 3 reported REQUEST_TIMED_OUT, stored at 1/1'])
  })
})

describe('faultSchedule', () => {
  it('is the same for the same seed, never overlaps and ends within the run', () => {
    const faults = faultSchedule(seed, faultSeconds) as Array<{ atMs: number; durationMs: number; kind: string }>
    expect(faultSchedule(seed, faultSeconds)).toEqual(faults)
    expect(faults.length).toBeGreaterThan(2)
    faults.forEach((fault, i) => {
      expect(fault.atMs + fault.durationMs).toBeLessThanOrEqual(faultSeconds * 1000)
      if (i > 0) expect(fault.atMs).toBeGreaterThan((faults[i - 1]?.atMs ?? 0) + (faults[i - 1]?.durationMs ?? 0))
    })
  })
})

/** Runs chaos.mjs with `args`; `onOutput` sees the output so far (stdout and stderr) and the child, as it grows. */
async function runChaos (args: string[], onOutput?: (output: string, child: ChildProcess) => void): Promise<{ code: number | null, output: string }> {
  const child = spawn(process.execPath, [chaosScript, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const take = (chunk: string): void => { output += chunk; onOutput?.(output, child) }
  child.stdout.setEncoding('utf8').on('data', take)
  child.stderr.setEncoding('utf8').on('data', take)
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  return { code, output }
}

/** PIDs of live processes whose command line mentions `text` (a run's data directory: its brokers). */
function processesMentioning (text: string): number[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).filter((pid) => {
    try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text) } catch { return false }
  }).map(Number)
}

/** Polls until no process mentions `text`, for at most `timeoutMs` (a SIGKILLed broker takes a moment to be reaped). */
async function noProcessMentioning (text: string, timeoutMs = 10_000): Promise<number[]> {
  const deadlineMs = Date.now() + timeoutMs
  for (;;) {
    const left = processesMentioning(text)
    if (left.length === 0 || Date.now() >= deadlineMs) return left
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

describe.skipIf(!isRoot || !built)('npm run chaos (real brokers, needs root and a build)', () => {
  it(`runs ${faultSeconds} s of faults with seed ${seed}: nothing lost, duplicated, moved or invented, no rule left`, async () => {
    const startedMs = Date.now()
    const { code, output } = await runChaos(['--seconds', String(faultSeconds), '--seed', String(seed)])
    const summary = output.split('\n').find((line) => line.startsWith('chaos: seed='))
    expect(summary, output).toMatch(
      /^chaos: seed=7 seconds=35 faults=\d+ acked=\d+ failed=\d+ failed_stored=\d+ stored=\d+ consumed=\d+ lost=\d+ duplicated=\d+ moved=\d+ phantom=\d+ consumer_diverged=\d+ acked_not_consumed=\d+ isr_full_after_heal_ms=\d+ longest_unavailable_ms=0:\d+,1:\d+,2:\d+ rules_left=\d+ result=(PASS|FAIL)$/)
    const figure = (name: string): number => Number(new RegExp(` ${name}=(\\d+)`).exec(summary ?? '')?.[1])
    expect({ lost: figure('lost'), duplicated: figure('duplicated'), moved: figure('moved'), phantom: figure('phantom'), consumerDiverged: figure('consumer_diverged'), rulesLeft: figure('rules_left') }, output)
      .toEqual({ lost: 0, duplicated: 0, moved: 0, phantom: 0, consumerDiverged: 0, rulesLeft: 0 })
    expect(figure('acked'), output).toBeGreaterThan(0)
    expect(figure('faults'), output).toBe(faultSchedule(seed, faultSeconds).length)
    expect(code, output).toBe(0)
    // The run is bounded: S + 60 s from the start of chaos.mjs.
    expect(Date.now() - startedMs).toBeLessThan((faultSeconds + 60) * 1000)
    expect(hostChaosRules()).toEqual([])
    // Its brokers (which name the data directory on their command line) are gone, and so is the directory.
    const dir = / data in (\S+)$/m.exec(output)?.[1] ?? ''
    expect(dir, output).not.toBe('')
    expect(await noProcessMentioning(dir), output).toEqual([])
    expect(existsSync(dir), output).toBe(false)
  }, 180_000)

  it('on SIGINT in the middle of a fault: removes every rule, ends every broker by PID, keeps and names the data', async () => {
    // Seed 3 opens with a leader cut off from its clients (a DROP rule in force) about 3 s into the faults.
    let interrupted = false
    const { code, output } = await runChaos(['--seconds', '60', '--seed', '3'], (soFar, child) => {
      if (!interrupted && soFar.includes('fault: cut broker')) { interrupted = true; child.kill('SIGINT') }
    })
    expect(interrupted, output).toBe(true)
    const line = /^chaos: interrupted by SIGINT; rules_removed=(\d+); rules_left=(\d+); data kept in (\S+)$/m.exec(output)
    expect(line, output).not.toBeNull()
    // Both directions of the cut were in force when the signal came, and none is left.
    expect({ removed: line?.[1], left: line?.[2] }, output).toEqual({ removed: '2', left: '0' })
    expect(code, output).toBe(130)
    const dir = line?.[3] ?? ''
    try {
      expect(existsSync(dir), output).toBe(true)
      expect(await noProcessMentioning(dir), output).toEqual([])
      expect(hostChaosRules()).toEqual([])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})
