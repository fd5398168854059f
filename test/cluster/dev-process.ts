/**
 * A `gregor dev` process for the dev tests: spawned on private loopback ports (`0`), its stdout collected, its exit
 * awaited; whether a PID still runs, to check that Ctrl-C stopped every broker; and the clean-up of a test that failed
 * halfway (everything SIGKILLed by PID, the directory removed).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { cliBin } from '@gregor/cli'

export interface DevProcess {
  readonly child: ChildProcessWithoutNullStreams
  readonly stdout: () => string
  readonly exited: Promise<number | null>
}

export function spawnDev (dir: string, extraArgs: readonly string[] = []): DevProcess {
  const child = spawn(process.execPath, [cliBin, 'dev', ...extraArgs, '--dir', dir, '--kafka-port', '0', '--client-port', '0', '--broker-port', '0', '--admin-port', '0'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  child.stdin.end()
  let stdout = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.resume()
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, stdout: () => stdout, exited }
}

export function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

export async function killDev (dev: DevProcess, brokerPids: readonly number[], dir: string): Promise<void> {
  if (dev.child.exitCode === null && dev.child.signalCode === null) dev.child.kill('SIGKILL')
  for (const pid of brokerPids.filter(isAlive)) process.kill(pid, 'SIGKILL')
  await rm(dir, { recursive: true, force: true })
}
