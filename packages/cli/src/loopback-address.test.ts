import { createServer } from 'node:net'
import { expect, test } from 'vitest'
import { loopbackAddress, loopbackHost } from './loopback-address.js'

test('each pid has its own loopback host inside 127.64.0.0/10', () => {
  expect(loopbackHost(1)).toBe('127.64.0.1')
  expect(loopbackHost(4_194_303)).toBe('127.127.255.255')
  const pids = [1, 255, 256, 65_535, 65_536, 1_000_003, 4_194_303]
  expect(new Set(pids.map((pid) => loopbackHost(pid))).size).toBe(pids.length)
})

test('addresses are this process\'s own, never repeat, use ports below the ephemeral range, and can be bound', async () => {
  const addresses = Array.from({ length: 100 }, () => loopbackAddress())
  expect(new Set(addresses).size).toBe(100)
  for (const address of addresses) {
    const [host, port] = address.split(':')
    expect(host).toBe(loopbackHost())
    expect(Number(port)).toBeLessThan(32_768)
  }
  const [host, port] = (addresses[0] as string).split(':')
  const server = createServer()
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(Number(port), host, resolve) })
  await new Promise<void>((resolve) => server.close(() => resolve()))
})
