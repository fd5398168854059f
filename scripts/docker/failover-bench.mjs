#!/usr/bin/env node
// kill -9 of a partition leader's container → first acks=all record acknowledged by its successor, over N trials, against
// a running docker-compose cluster (the figure issue 5 asks for; `gregor bench failover` measures the same on
// local processes). Each trial: acks=all sends to partition 0 without pause, `docker kill` of its leader, time to
// the first acknowledgement of a send issued after the kill, `docker start`, wait until the ISR is whole again.
// Usage (after `npm run build`; DOCKER_HOST and the compose project as for docker-compose):
//   node scripts/docker/failover-bench.mjs --bootstrap-server localhost:19292,localhost:29292,localhost:39292 \
//     --project gregor --trials 5
// Prints one JSON line per trial and a summary line (median, max).
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { parseArgs } from 'node:util'
import { Admin, Producer } from '../../packages/client/dist/index.js'

const run = promisify(execFile)
const { values } = parseArgs({
  options: {
    'bootstrap-server': { type: 'string', default: 'localhost:19292,localhost:29292,localhost:39292' },
    project: { type: 'string', default: 'gregor' },
    trials: { type: 'string', default: '5' },
    topic: { type: 'string', default: 'failover-bench' },
  },
})
const servers = values['bootstrap-server'].split(',')
const trials = Number(values.trials)
const topic = values.topic
const container = (id) => `${values.project}_broker-${id}_1`

async function waitFor (what, probe, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch {}
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const admin = new Admin({ bootstrapServers: servers, requestTimeoutMs: 2_000 })
const partitionZero = async () => (await admin.describeTopics([topic]))[0]?.partitions.find((p) => p.partition === 0)
await admin.createTopics([{ topic, numPartitions: 3, replicationFactor: 3 }]).catch(() => {})
await waitFor('a whole ISR', async () => ((await partitionZero())?.isr.length === 3 ? true : undefined))

const results = []
for (let trial = 1; trial <= trials; trial++) {
  const victim = (await partitionZero()).leader
  const producer = new Producer({ bootstrapServers: servers, lingerMs: 1, requestTimeoutMs: 5_000, deliveryTimeoutMs: 60_000 })
  let killedAtMs = 0
  let firstAckMs = 0
  let stop = false
  const load = async () => {
    while (!stop) {
      const sentMs = Date.now()
      await producer.send({ topic, messages: [{ value: `t${trial}`, partition: 0 }], acks: 'all' })
      if (killedAtMs > 0 && sentMs >= killedAtMs && firstAckMs === 0) firstAckMs = Date.now() - killedAtMs
    }
  }
  const workers = Array.from({ length: 4 }, load)
  await new Promise((resolve) => setTimeout(resolve, 500)) // warm: the producer has its id and metadata
  // SIGKILL to the container's node process (PID 1 inside it) from the host: what `docker kill` delivers, timed at
  // the signal itself. `docker kill` as a command returns only after the daemon has processed the exit (2.6 s on
  // this machine, by which time the failover is over), so neither its start nor its return marks the death.
  const pid = Number((await run('docker', ['inspect', '-f', '{{.State.Pid}}', container(victim)])).stdout.trim())
  process.kill(pid, 'SIGKILL')
  killedAtMs = Date.now()
  await waitFor('the first ack after the kill', () => (firstAckMs > 0 ? true : undefined))
  stop = true
  await Promise.all(workers)
  await producer.close()
  await waitFor('docker to see the container exit', async () => (await run('docker', ['inspect', '-f', '{{.State.Running}}', container(victim)])).stdout.trim() === 'false' ? true : undefined)
  await run('docker', ['start', container(victim)])
  await waitFor('the ISR whole again', async () => ((await partitionZero())?.isr.length === 3 ? true : undefined), 120_000)
  const line = { trial, victim, firstAckAfterKillMs: firstAckMs }
  results.push(line)
  console.log(JSON.stringify(line))
}
admin.close()
const sorted = results.map((r) => r.firstAckAfterKillMs).sort((a, b) => a - b)
console.log(JSON.stringify({ name: 'docker-failover', trials, medianMs: sorted[Math.floor((sorted.length - 1) / 2)], maxMs: sorted[sorted.length - 1] }))
