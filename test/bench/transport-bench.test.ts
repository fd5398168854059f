/**
 * scripts/bench/transport.mjs with a tiny volume: one row per transport and message size, every column positive, the
 * table beside the JSON. Shape only: no figure is compared with a speed.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, test } from 'vitest'

const script = fileURLToPath(new URL('../../scripts/bench/transport.mjs', import.meta.url))

interface Row {
  transport: string; messageBytes: number; messages: number; megabytesPerSec: number
  cpuSecondsPerGB: { sender: number; receiver: number }; cpuUsPer100Bytes: { sender: number; receiver: number }
}

test('the transport bench measures grpc and tcp at each message size and prints the table', async () => {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [script, '--megabytes', '2', '--message-bytes', '20000,100000', '--json'], { timeout: 60_000 })
  const { rows } = JSON.parse(stdout) as { rows: Row[] }
  expect(rows.map((row) => `${row.transport} ${row.messageBytes} ${row.messages}`)).toEqual(['grpc 20000 100', 'grpc 100000 20', 'tcp 20000 100', 'tcp 100000 20'])
  for (const row of rows) {
    expect(row.megabytesPerSec).toBeGreaterThan(0)
    expect(row.cpuSecondsPerGB.sender).toBeGreaterThan(0)
    expect(row.cpuSecondsPerGB.receiver).toBeGreaterThan(0)
    expect(row.cpuUsPer100Bytes.sender).toBeCloseTo(row.cpuSecondsPerGB.sender / 10, 6)
  }
  expect(stderr.split('\n').filter((line) => line.startsWith('| '))).toHaveLength(2 + rows.length)
}, 70_000)
