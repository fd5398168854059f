/**
 * Clients leave a black-holed leader (issue 10, defect 11): the leader of a partition is SIGSTOPped, so its TCP
 * connections stay open and nothing answers (no RST, no FIN: what a partitioned or frozen host looks like to a
 * client). The controller fences it by its heartbeat timeout and elects another leader; an idempotent acks=all
 * producer, a consumer with an assigned partition and a group consumer, all running through the stop, must reach
 * the new leader within a bound of its election (`clientMoveBoundMs`), not wait out a request deadline or a keepalive.
 *
 * The group is chosen so that the stopped broker is also its coordinator: an offset commit started at the stop must
 * leave the stalled coordinator, find the new one and succeed within the same bound (the coordinator lookup path).
 *
 * Measured, not assumed: the election time is the first time a survivor's metadata names the new leader (polled every
 * 25 ms, so at most a poll late); each client's figure is the time from it to that client's first acknowledgement or
 * record received after the stop (and to the commit's success). Then the old leader is resumed and every acknowledged
 * record must be read back once at its offset. The figures are printed as one JSON line.
 *
 * Before the fix (per-attempt deadline 30 s, keepalive 10 s + 5 s, no stall watch) every figure was about 9 s.
 */
import { describe, expect, test } from 'vitest'
import { Admin, Consumer, type ConsumerMessage, Producer } from '@gregor/client'
import { type BrokerProcesses, waitFor } from '@gregor/cli'
import { type AckedRecord, describePartitions, expectAckedReadBack, serversOf, useCluster, waitForIsr } from './cluster-helpers.js'

/** The issue asks for about a second after the election; 3 s leaves room for a loaded 2-core machine. */
const clientMoveBoundMs = 3_000
/** Anything a client receives this long after the stop cannot have been on its way from the stopped leader. */
const inTransitMs = 200

let cluster: BrokerProcesses
let admin: Admin

useCluster((started, startedAdmin) => { cluster = started; admin = startedAdmin })

/** A consumer's records with the time each arrived, until `stop()`. */
class Reader {
  readonly received: Array<{ readonly message: ConsumerMessage; readonly atMs: number }> = []
  readonly #done: Promise<void>
  failure: unknown

  constructor (readonly consumer: Consumer) {
    this.#done = (async () => {
      try {
        for await (const message of consumer) this.received.push({ message, atMs: Date.now() })
      } catch (error) {
        this.failure = error
      }
    })()
  }

  firstAfter (atMs: number): number | undefined {
    return this.received.find((item) => item.atMs > atMs)?.atMs
  }

  async stop (): Promise<void> {
    await this.consumer.close()
    await this.#done
  }
}

describe('clients after a black-holed leader', () => {
  test('an acks=all producer, a consumer and a group consumer reach the new leader soon after its election', async () => {
    // A partition whose leader is not the controller, so the metadata quorum stays up while the leader is stopped.
    const { controllerId } = await admin.describeCluster()
    let topic = ''
    let victim = -1
    for (let attempt = 0; attempt < 6 && victim < 0; attempt++) {
      const name = `client-failover-${attempt}`
      await admin.createTopics([{ topic: name, numPartitions: 1, replicationFactor: 3 }])
      await waitForIsr(cluster, name, 3)
      const [partition] = await describePartitions(cluster, name)
      topic = name
      if (partition !== undefined && partition.leader !== controllerId) victim = partition.leader
    }
    expect(victim).toBeGreaterThan(0)
    const [before] = await describePartitions(cluster, topic)
    const oldEpoch = before?.leaderEpoch ?? -1
    // A group whose coordinator is the broker to be stopped (about one group id in three is).
    let groupId = ''
    for (let attempt = 0; attempt < 30 && groupId === ''; attempt++) {
      const candidate = `client-failover-${process.pid}-${attempt}`
      if ((await admin.findCoordinator(candidate)).nodeId === victim) groupId = candidate
    }
    expect(groupId).not.toBe('')
    await waitForIsr(cluster, '__consumer_offsets', 3)
    const bootstrapServers = serversOf(cluster)
    const survivors = new Admin({ bootstrapServers: [1, 2, 3].filter((id) => id !== victim).map((id) => cluster.broker(id).clientAddress), requestTimeoutMs: 1_000 })

    // Load: two send loops, one record per send, all on partition 0; every ack kept with its arrival time.
    const producer = new Producer({ bootstrapServers, lingerMs: 1 })
    const acked: AckedRecord[] = []
    const ackTimes: number[] = []
    const sent = new Set<string>()
    const failures: unknown[] = []
    let sequence = 0
    let producing = true
    const loops = Array.from({ length: 2 }, async () => {
      while (producing) {
        const value = `v-${sequence++}`
        sent.add(value)
        try {
          const [metadata] = await producer.send({ topic, messages: [{ value, partition: 0 }] })
          if (metadata !== undefined) acked.push({ partition: 0, offset: metadata.offset, value })
          ackTimes.push(Date.now())
        } catch (error) {
          failures.push(error)
        }
      }
    })
    const assigned = new Consumer({ bootstrapServers })
    assigned.assign([{ topic, partition: 0, offset: 0 }])
    const plain = new Reader(assigned)
    const grouped = new Consumer({ bootstrapServers, groupId, autoOffsetReset: 'earliest' })
    grouped.subscribe([topic])
    const member = new Reader(grouped)

    let resumed = false
    try {
      await waitFor('both consumers to read what the producer wrote', () => {
        if (failures.length > 0) throw failures[0] as Error
        return acked.length >= 200 && plain.received.length >= 100 && member.received.length >= 100 ? true : undefined
      }, { timeoutMs: 30_000 })

      cluster.signal(victim, 'SIGSTOP')
      const stoppedAtMs = Date.now()
      // Sent to the stopped coordinator; it must move to the new one by itself.
      const lastRead = member.received.at(-1)?.message
      let committedAtMs: number | undefined
      let commitFailure: unknown
      const commit = grouped.commit([{ topic, partition: 0, offset: (lastRead?.offset ?? -1) + 1 }])
        .then(() => { committedAtMs = Date.now() }, (error: unknown) => { commitFailure = error })
      const moved = await waitFor('a survivor to name another leader', async () => {
        const [description] = await survivors.describeTopics([topic])
        const partition = description?.partitions[0]
        return partition !== undefined && partition.leader > 0 && partition.leader !== victim && partition.leaderEpoch > oldEpoch ? partition : undefined
      }, { timeoutMs: 30_000, intervalMs: 25 })
      const electedAtMs = Date.now()

      // Generous deadlines so that a slow client is measured rather than cut off; the bound is asserted below.
      const after = stoppedAtMs + inTransitMs
      const firstAckMs = await waitFor('an acknowledgement from the new leader', () => ackTimes.find((atMs) => atMs > after), { timeoutMs: 45_000, intervalMs: 10 })
      const firstRecordMs = await waitFor('a record from the new leader', () => plain.firstAfter(after), { timeoutMs: 45_000, intervalMs: 10 })
      const firstGroupRecordMs = await waitFor('a group record from the new leader', () => member.firstAfter(after), { timeoutMs: 60_000, intervalMs: 10 })
      await commit
      expect(commitFailure).toBeUndefined()
      const figures = {
        name: 'client-failover', topic, victim, controllerId, newLeader: moved.leader,
        electionMs: electedAtMs - stoppedAtMs,
        ackAfterElectionMs: firstAckMs - electedAtMs,
        recordAfterElectionMs: firstRecordMs - electedAtMs,
        groupRecordAfterElectionMs: firstGroupRecordMs - electedAtMs,
        commitAfterElectionMs: (committedAtMs ?? Number.NaN) - electedAtMs,
      }
      console.log(JSON.stringify(figures))

      cluster.signal(victim, 'SIGCONT')
      resumed = true
      producing = false
      await Promise.all(loops)
      await producer.close()
      expect(failures).toEqual([])
      expect(figures.ackAfterElectionMs).toBeLessThanOrEqual(clientMoveBoundMs)
      expect(figures.recordAfterElectionMs).toBeLessThanOrEqual(clientMoveBoundMs)
      expect(figures.groupRecordAfterElectionMs).toBeLessThanOrEqual(clientMoveBoundMs)
      expect(figures.commitAfterElectionMs).toBeLessThanOrEqual(clientMoveBoundMs)

      await cluster.waitForReady()
      await waitForIsr(cluster, topic, 3, 60_000)
      await expectAckedReadBack(cluster, topic, [0], acked, sent)
      expect(plain.failure).toBeUndefined()
      expect(member.failure).toBeUndefined()
    } finally {
      if (!resumed) cluster.signal(victim, 'SIGCONT')
      producing = false
      await Promise.all(loops)
      await producer.close().catch(() => undefined)
      await plain.stop()
      await member.stop()
      survivors.close()
    }
  }, 240_000)
})
