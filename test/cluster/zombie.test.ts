/**
 * Zombie leader fencing (issue 4): a partition leader is SIGSTOPped for longer than the broker session timeout, the
 * controller fences it and elects another leader, the cluster keeps acknowledging writes, and then the old leader is
 * resumed (SIGCONT) with an acks=all produce already queued on its socket.
 *
 * The old leader must never acknowledge that write (it is no longer leader; its old ISR cannot advance its HW), and
 * whatever it appended in its old epoch is truncated when it rejoins as a follower: every record the new leader
 * acknowledged is read back exactly once at its offset, offsets are contiguous, and the zombie's value is nowhere —
 * neither in what consumers read nor in the old leader's segment files.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { Admin, Producer } from '@gregor/client'
import { type BrokerProcesses, waitFor } from '@gregor/cli'
import { buildBatch } from '@gregor/records'
import { connectRaw, describePartitions, latestOffset, readPartition, useCluster, waitForIsr } from './cluster-helpers.js'

let cluster: BrokerProcesses
let admin: Admin

useCluster((started, startedAdmin) => { cluster = started; admin = startedAdmin })

describe('zombie leader', () => {
  test('a SIGSTOPped leader resumed after losing leadership never acks acks=all, and its old-epoch writes are truncated', async () => {
    // A partition whose leader is not the controller (raft leader), so the metadata quorum stays up while it is paused.
    const { controllerId } = await admin.describeCluster()
    let topic = ''
    let zombie = -1
    for (let attempt = 0; attempt < 6 && zombie < 0; attempt++) {
      const name = `zombie-${attempt}`
      await admin.createTopics([{ topic: name, numPartitions: 1, replicationFactor: 3 }])
      await waitForIsr(cluster, name, 3)
      const [partition] = await describePartitions(cluster, name)
      topic = name
      if (partition !== undefined && (partition.leader !== controllerId || attempt === 5)) zombie = partition.leader
    }
    expect(zombie).toBeGreaterThan(0)
    const others = [1, 2, 3].filter((id) => id !== zombie)
    const otherAddresses = others.map((id) => cluster.broker(id).clientAddress)
    const [before] = await describePartitions(cluster, topic)
    const oldEpoch = before?.leaderEpoch ?? -1

    const acked: Array<{ offset: number; value: string }> = []
    const send = async (p: Producer, values: string[]): Promise<void> => {
      const metadata = await p.send({ topic, messages: values.map((value) => ({ value })), acks: 'all' })
      metadata.forEach((item, i) => acked.push({ offset: item.offset, value: values[i] as string }))
    }
    const first = new Producer({ bootstrapServers: cluster.running().map((broker) => broker.clientAddress), lingerMs: 5 })
    for (let round = 0; round < 5; round++) await send(first, Array.from({ length: 20 }, (_, i) => `before-${round}-${i}`))
    await first.close()

    // Connected before the pause, so the zombie produce below is written into the paused process's socket.
    const raw = await connectRaw(cluster.broker(zombie).clientAddress)
    const survivors = new Admin({ bootstrapServers: otherAddresses, requestTimeoutMs: 2_000 })
    const marker = `zombie-write-${process.pid}-${Date.now()}`
    let resumed = false
    try {
      cluster.signal(zombie, 'SIGSTOP')
      const stoppedAtMs = Date.now()
      // Session timeout (3 s) plus election: the controller fences the silent broker and moves the leadership.
      const moved = await waitFor('another broker to lead the partition', async () => {
        const [description] = await survivors.describeTopics([topic])
        const partition = description?.partitions[0]
        return partition !== undefined && partition.leader > 0 && partition.leader !== zombie && partition.leaderEpoch > oldEpoch ? partition : undefined
      }, { timeoutMs: 30_000, intervalMs: 100 })
      const failoverMs = Date.now() - stoppedAtMs

      const second = new Producer({ bootstrapServers: otherAddresses, lingerMs: 5, requestTimeoutMs: 5_000, deliveryTimeoutMs: 30_000 })
      for (let round = 0; round < 5; round++) await send(second, Array.from({ length: 20 }, (_, i) => `after-${round}-${i}`))
      await second.close()

      // The zombie write: queued on the paused old leader's socket, then the process resumes.
      const startedMs = Date.now()
      const zombieCall = raw.produce({
        acks: -1, timeoutMs: 2_000,
        partitions: [{ topic, partition: 0, records: buildBatch([{ value: Buffer.from(marker) }], { nowMs: Date.now() }) }],
      }, 20_000).then((response) => ({ response, error: undefined }), (error: unknown) => ({ response: undefined, error }))
      // Let grpc-js hand the request to the socket (event-loop turns, not a timed wait).
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
      cluster.signal(zombie, 'SIGCONT')
      resumed = true
      const outcome = await zombieCall
      const zombieMs = Date.now() - startedMs
      expect(outcome.error).toBeUndefined()
      const result = outcome.response?.partitions[0]
      expect(result).toBeDefined()
      // Any error is fine (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT);
      // success ('') would be an acknowledged write from a deposed leader.
      expect(result?.errorCode).not.toBe('')
      expect(result?.errorCode).toBeTruthy()

      // The old leader comes back as a follower and rejoins the ISR.
      await cluster.waitForReady()
      await waitForIsr(cluster, topic, 3, 60_000)
      const [after] = await describePartitions(cluster, topic)
      expect(after?.leader).not.toBe(zombie)
      expect(after?.leaderEpoch).toBeGreaterThanOrEqual(moved.leaderEpoch)

      // Exactly the acknowledged records, once each, at their offsets, contiguous from 0, and nothing else.
      acked.sort((a, b) => a.offset - b.offset)
      const end = (acked[acked.length - 1]?.offset ?? -1) + 1
      expect(acked.map((item) => item.offset)).toEqual(Array.from({ length: end }, (_, i) => i))
      const leaderAddress = cluster.broker(after?.leader as number).clientAddress
      expect(await latestOffset(leaderAddress, topic, 0)).toEqual({ errorCode: '', offset: end })
      const read = await readPartition(cluster, topic, 0, end)
      expect(read.map((message) => message.offset)).toEqual(Array.from({ length: end }, (_, i) => i))
      expect(read.map((message) => message.value?.toString())).toEqual(acked.map((item) => item.value))
      expect(read.some((message) => message.value?.toString() === marker)).toBe(false)

      // And not on the old leader's disk either: a write it took in its old epoch was truncated on rejoining.
      const partitionDir = join(cluster.dir, `broker-${zombie}`, 'logs', `${topic}-0`)
      const files = (await readdir(partitionDir)).filter((name) => name.endsWith('.log'))
      expect(files.length).toBeGreaterThan(0)
      for (const name of files) expect((await readFile(join(partitionDir, name))).includes(marker)).toBe(false)
      const brokerLog = await readFile(join(cluster.dir, `broker-${zombie}.log`), 'utf8')
      const appendedInOldEpoch = result?.errorCode === 'REQUEST_TIMED_OUT' || /leadership moved/.test(result?.errorMessage ?? '')
      const truncations = brokerLog.split('\n').filter((line) => line.includes('truncated') && line.includes(`"${topic}"`))
      if (appendedInOldEpoch) expect(truncations.length).toBeGreaterThan(0)

      console.log(JSON.stringify({
        name: 'zombie', topic, zombie, controllerId, newLeader: moved.leader, failoverMs, zombieMs,
        zombieErrorCode: result?.errorCode, zombieErrorMessage: result?.errorMessage, appendedInOldEpoch, truncations, acked: acked.length,
      }))
    } finally {
      if (!resumed) cluster.signal(zombie, 'SIGCONT')
      raw.close()
      survivors.close()
    }
  }, 180_000)
})
