/**
 * `gregor bench failover [--trials 10]`: three real broker processes; per trial, a topic with one partition (RF 3)
 * takes acks=all writes without pause, its leader is killed with SIGKILL, and the time until the first write is
 * acknowledged by the new leader is measured. The victim restarts and rejoins the ISR before the next trial.
 * Whether the victim was also the controller (the raft leader) is reported per trial: then a new controller must be
 * elected first, so those trials are the slower kind. One JSON line per trial, then a summary.
 */
import { parseArgs } from 'node:util'
import { Admin, Producer } from '@gregor/client'
import { BrokerProcesses } from '../broker-processes.js'
import { waitFor } from '../wait-for.js'

export async function failoverBench (argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { trials: { type: 'string', default: '10' } }, strict: true })
  const trials = Number(values.trials)
  const cluster = await BrokerProcesses.start({ logLevel: 'warn' })
  const admin = new Admin({ bootstrapServers: cluster.bootstrapServers })
  const results: number[] = []
  try {
    await cluster.waitForReady(undefined, 60_000)
    for (let trial = 1; trial <= trials; trial++) {
      const topic = `failover-${trial}`
      await waitFor('the topic to be created', async () => { await admin.createTopics([{ topic, numPartitions: 1, replicationFactor: 3 }]); return true }, { timeoutMs: 30_000, intervalMs: 200 })
      const describe = async (): Promise<{ leader: number; isr: readonly number[] } | undefined> => (await admin.describeTopics([topic]))[0]?.partitions[0]
      await waitFor('a full ISR', async () => ((await describe())?.isr.length === 3 ? true : undefined), { timeoutMs: 30_000 })
      const producer = new Producer({ bootstrapServers: cluster.running().map((broker) => broker.clientAddress), lingerMs: 0, deliveryTimeoutMs: 30_000, requestTimeoutMs: 5_000 })
      let stop = false
      let killedAtMs = 0
      let firstAckMs = 0
      let acked = 0
      const victim = (await describe())?.leader ?? 1
      const victimWasController = (await admin.describeCluster()).controllerId === victim
      const load = (async () => {
        while (!stop) {
          await producer.send({ topic, messages: [{ value: 'x' }], acks: 'all' })
          acked++
          if (killedAtMs > 0 && firstAckMs === 0) firstAckMs = performance.now() - killedAtMs
        }
      })()
      await waitFor('writes before the kill', () => (acked >= 50 ? true : undefined), { timeoutMs: 30_000 })
      // The ack in flight at the kill may come back from the old leader's last moments; count the first ack of a
      // write *sent* after the kill instead: reset after the kill returns.
      await cluster.kill(victim)
      killedAtMs = performance.now()
      await waitFor('the first acknowledgement after the kill', () => (firstAckMs > 0 ? true : undefined), { timeoutMs: 30_000, intervalMs: 5 })
      stop = true
      await load
      await producer.close()
      results.push(Math.round(firstAckMs))
      process.stdout.write(`${JSON.stringify({ name: 'failover-first-ack', trial, victim, victimWasController, firstAckMs: Math.round(firstAckMs) })}\n`)
      cluster.startBroker(victim)
      await cluster.waitForReady(undefined, 60_000)
    }
    const sorted = [...results].sort((a, b) => a - b)
    process.stdout.write(`${JSON.stringify({ name: 'failover-summary', trials, firstAckMsMedian: sorted[Math.floor(sorted.length / 2)], firstAckMsMax: sorted[sorted.length - 1] })}\n`)
    return 0
  } finally {
    admin.close()
    await cluster.stop()
  }
}
