#!/usr/bin/env node
/**
 * The NATS JetStream side of scripts/bench/side-by-side.mjs, in its own process so that its CPU is counted as a
 * client's, like `gregor bench` and kcat. Uses the `nats` npm client (a root devDependency).
 *
 *   node nats-client.mjs setup <servers> <stream> <replicas>       (re)create a file-storage stream, wait for its leader
 *   node nats-client.mjs pub <servers> <stream> <count> <bytes> <window>
 *        acked publishes, at most <window> unacknowledged (pipelined, bounded); latency from publish to ack
 *   node nats-client.mjs sub <servers> <stream> <count>           ordered consumer from the start; wait per message
 *
 * pub and sub print one JSON line: records, elapsedMs, latency percentiles, and the CPU this process spent during the
 * run (process.cpuUsage). <servers> is a comma-separated list of host:port.
 */
import { RetentionPolicy, StorageType, connect } from 'nats'

const [mode, serversArg, stream, ...rest] = process.argv.slice(2)
const servers = (serversArg ?? '').split(',')
const sleep = async (ms) => await new Promise((resolve) => setTimeout(resolve, ms))

function percentiles (samples) {
  if (samples.length === 0) return { p50: 0, p99: 0, p999: 0, max: 0 }
  samples.sort()
  const rank = (q) => samples[Math.min(samples.length - 1, Math.max(0, Math.ceil(q * samples.length) - 1))]
  const round = (v) => Math.round(v * 1000) / 1000
  return { p50: round(rank(0.5)), p99: round(rank(0.99)), p999: round(rank(0.999)), max: round(samples[samples.length - 1]) }
}

const nc = await connect({ servers, timeout: 10_000 })
try {
  if (mode === 'setup') {
    const replicas = Number(rest[0] ?? 3)
    const jsm = await nc.jetstreamManager({ timeout: 5_000 })
    // Right after the servers start the meta leader may still be settling: retry for up to 60 s.
    const deadline = Date.now() + 60_000
    for (;;) {
      try {
        try { await jsm.streams.delete(stream) } catch (error) { if (!/not found/i.test(String(error))) throw error }
        await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], storage: StorageType.File, num_replicas: replicas, retention: RetentionPolicy.Limits })
        const info = await jsm.streams.info(stream)
        if (info.cluster?.leader) break
      } catch (error) {
        if (Date.now() > deadline) throw error
      }
      await sleep(250)
    }
  } else if (mode === 'pub') {
    const [count, bytes, window] = rest.map(Number)
    const js = nc.jetstream({ timeout: 30_000 })
    const payload = Buffer.alloc(bytes, 0x61)
    const subject = `${stream}.bench`
    const latenciesMs = new Float64Array(count)
    let sent = 0
    let acked = 0
    let failed = 0
    let firstError
    const cpuStart = process.cpuUsage()
    const startMs = performance.now()
    await new Promise((resolve) => {
      const settle = () => { if (acked + failed === count) resolve(); else pump() }
      const pump = () => {
        while (sent - acked - failed < window && sent < count) {
          sent++
          const sentMs = performance.now()
          js.publish(subject, payload).then(
            () => { latenciesMs[acked++] = performance.now() - sentMs; settle() },
            (error) => { failed++; firstError ??= String(error); settle() },
          )
        }
      }
      pump()
    })
    const elapsedMs = performance.now() - startMs
    const cpu = process.cpuUsage(cpuStart)
    console.log(JSON.stringify({ mode, records: acked, failedRecords: failed, elapsedMs, window, latencyMs: percentiles(latenciesMs.slice(0, acked)), clientCpuMs: (cpu.user + cpu.system) / 1000, ...(firstError ? { firstError } : {}) }))
  } else if (mode === 'sub') {
    const count = Number(rest[0])
    const js = nc.jetstream()
    const consumer = await js.consumers.get(stream) // ordered consumer, from the start, no acks
    const latenciesMs = new Float64Array(count)
    let received = 0
    const cpuStart = process.cpuUsage()
    const startMs = performance.now()
    const messages = await consumer.consume({ max_messages: 10_000 })
    const idle = setTimeout(() => { messages.stop() }, 30_000)
    let askedMs = performance.now()
    for await (const message of messages) {
      void message
      latenciesMs[received++] = performance.now() - askedMs
      idle.refresh()
      if (received >= count) break
      askedMs = performance.now()
    }
    clearTimeout(idle)
    const elapsedMs = performance.now() - startMs
    const cpu = process.cpuUsage(cpuStart)
    console.log(JSON.stringify({ mode, records: received, failedRecords: count - received, elapsedMs, latencyMs: percentiles(latenciesMs.slice(0, received)), clientCpuMs: (cpu.user + cpu.system) / 1000 }))
  } else {
    throw new Error(`unknown mode '${mode}' (setup | pub | sub)`)
  }
} finally {
  await nc.close()
}
