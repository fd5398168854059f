/**
 * One chaos run, inside the private network namespace that chaos.mjs made: sets up the hosts (network-lab.mjs),
 * starts three brokers and the client process, plays the seeded fault schedule (fault-schedule.mjs), heals, waits
 * for a full ISR, reads every partition back, judges (check-records.mjs) and prints one summary line.
 *
 * Owns: the broker and client processes (each ended by its PID, never by name), the data directory (removed after
 * a clean run, kept and printed otherwise) and the network lab (torn down in `finally` and on SIGINT/SIGTERM).
 * Invariants: every wait has a deadline, and the run ends within S + 55 s (chaos.mjs kills it at S + 60 s).
 */
import { spawn } from 'node:child_process'
import { appendFileSync, createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { Admin, Consumer } from '@gregor/client'
import { BROKER_NODE_ARGS } from '@gregor/cli'
import { checkRecords } from './check-records.mjs'
import { describeFault, faultSchedule } from './fault-schedule.mjs'
import { NetworkLab } from './network-lab.mjs'

const cliBin = fileURLToPath(new URL('../../packages/cli/bin/gregor.js', import.meta.url))
const clientScript = fileURLToPath(new URL('./chaos-client.mjs', import.meta.url))
const brokerIds = [1, 2, 3]
const topic = 'chaos'
const partitions = 3
const groupId = 'chaos-group'
const ports = { client: 9092, broker: 9093, admin: 8080 }
/** Setup (start, topic, clients) may take this long on a busy machine; the rest of the S + 55 s is for the end. */
const setupBudgetMs = 25_000
const overallSlackMs = 55_000

const sleep = async (ms) => await new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))
const startedMs = Date.now()
const log = (message) => { console.log(`chaos [${((Date.now() - startedMs) / 1000).toFixed(1).padStart(6)}s] ${message}`) }

/** Polls `probe` until it returns something other than undefined, or throws at `deadlineMs` (absolute). */
async function until (description, deadlineMs, probe, intervalMs = 200) {
  let lastError
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (error) {
      if (error instanceof RunFailure) throw error
      lastError = error
    }
    if (Date.now() >= deadlineMs) throw new Error(`timed out waiting for ${description}${lastError === undefined ? '' : ` (last error: ${String(lastError)})`}`)
    await sleep(intervalMs)
  }
}

const withTimeout = async (promise, ms, fallback) => await Promise.race([promise, sleep(ms).then(() => fallback)])

class RunFailure extends Error {}

export async function runChaos ({ seconds, seed, keep }) {
  const endByMs = startedMs + seconds * 1000 + overallSlackMs
  const dir = await mkdtemp(join(tmpdir(), 'gregor-chaos-'))
  const state = { lab: undefined, brokers: new Map(), client: undefined, cleaned: false }
  const cleanup = () => {
    if (state.cleaned) return []
    state.cleaned = true
    for (const child of [...state.brokers.values(), state.client]) {
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) continue
      try { child.kill('SIGCONT'); child.kill('SIGKILL') } catch { /* gone */ }
    }
    return state.lab?.teardown() ?? []
  }
  const onSignal = (signal) => {
    log(`${signal}: healing and stopping`)
    // The fault rules in force when the signal came: what the teardown below has to remove.
    const inForce = state.cleaned ? 0 : (state.lab?.rules() ?? []).filter((line) => line.includes('-j DROP')).length
    const left = cleanup()
    console.log(`chaos: interrupted by ${signal}; rules_removed=${inForce}; rules_left=${left.length}; data kept in ${dir}`)
    process.exit(signal === 'SIGINT' ? 130 : 143)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const overall = setTimeout(() => {
    log('over the S + 55 s bound')
    const left = cleanup()
    console.log(`chaos: gave up at the S + 55 s bound; rules_left=${left.length}; data kept in ${dir}`)
    process.exit(2)
  }, endByMs - Date.now())

  let code = 2
  let admin
  try {
    log(`seed ${seed}, ${seconds} s of faults, data in ${dir}`)
    state.lab = NetworkLab.create(['b1', 'b2', 'b3', 'clients'])
    const lab = state.lab
    const addressOf = (id) => lab.address(`b${id}`)
    const bootstrap = brokerIds.map((id) => `${addressOf(id)}:${ports.client}`)
    const recordPid = (pid) => { if (process.env.GREGOR_CHAOS_PIDFILE !== undefined) appendFileSync(process.env.GREGOR_CHAOS_PIDFILE, `${pid}\n`) }

    const startBroker = (id) => {
      const address = addressOf(id)
      const voters = brokerIds.map((other) => `${other}@${addressOf(other)}:${ports.broker}`).join(',')
      const child = spawn(lab.execPrefix(`b${id}`)[0], [...lab.execPrefix(`b${id}`).slice(1), process.execPath, ...BROKER_NODE_ARGS, cliBin, 'broker',
        '--node-id', String(id), '--cluster-id', 'gregor-chaos', '--voters', voters,
        '--listeners', `CLIENT://${address}:${ports.client},BROKER://${address}:${ports.broker},ADMIN://${address}:${ports.admin}`,
        '--data-dir', join(dir, `broker-${id}`), '--log-level', 'info',
      ], { stdio: ['ignore', 'pipe', 'pipe'], env: { UV_THREADPOOL_SIZE: '64', ...process.env } })
      const out = createWriteStream(join(dir, `broker-${id}.log`), { flags: 'a' })
      child.stdout.pipe(out)
      child.stderr.pipe(out)
      recordPid(child.pid)
      child.once('exit', (exitCode, signal) => {
        if (state.brokers.get(id) === child && !child.chaosKilled && !state.cleaned) log(`broker ${id} (pid ${child.pid}) exited on its own: code ${exitCode} signal ${signal}`)
      })
      state.brokers.set(id, child)
    }
    const running = (id) => { const child = state.brokers.get(id); return child !== undefined && child.exitCode === null && child.signalCode === null }
    const isReady = async (id) => {
      try { return (await fetch(`http://${addressOf(id)}:${ports.admin}/readyz`, { signal: AbortSignal.timeout(1_000) })).ok } catch { return false }
    }
    const allReady = async (deadlineMs) => {
      await until('every broker ready', deadlineMs, async () => (await Promise.all(brokerIds.map(isReady))).every(Boolean) ? true : undefined)
    }
    const describe = async () => {
      const [description] = await withTimeout(admin.describeTopics([topic]), 3_000, [])
      return description?.partitions ?? []
    }
    const isrFull = async (deadlineMs) => {
      await until('every partition with a leader and 3 in sync', deadlineMs, async () => {
        const described = await describe()
        return described.length === partitions && described.every((item) => item.leader > 0 && item.isr.length === brokerIds.length) ? true : undefined
      }, 250)
    }

    // ---- setup
    await mkdir(dir, { recursive: true })
    for (const id of brokerIds) startBroker(id)
    const setupByMs = Date.now() + setupBudgetMs
    await allReady(setupByMs)
    admin = new Admin({ bootstrapServers: bootstrap, requestTimeoutMs: 3_000 })
    await until('the topic created', setupByMs, async () => {
      const existing = await admin.listTopics()
      if (!existing.includes(topic)) await admin.createTopics([{ topic, numPartitions: partitions, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }])
      return true
    }, 500)
    await isrFull(setupByMs)
    log('cluster up: 3 brokers, topic chaos (3 partitions, RF 3, min ISR 2)')

    const client = spawn(lab.execPrefix('clients')[0], [...lab.execPrefix('clients').slice(1), process.execPath, clientScript], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, GREGOR_CHAOS_BOOTSTRAP: bootstrap.join(','), GREGOR_CHAOS_TOPIC: topic, GREGOR_CHAOS_PARTITIONS: String(partitions), GREGOR_CHAOS_DIR: dir, GREGOR_CHAOS_GROUP: groupId },
    })
    state.client = client
    recordPid(client.pid)
    client.stderr.pipe(createWriteStream(join(dir, 'client.log'), { flags: 'a' }))
    const clientState = { progress: undefined, produced: undefined, closed: undefined, exited: false }
    createInterface({ input: client.stdout }).on('line', (line) => {
      let message
      try { message = JSON.parse(line) } catch { return }
      if (message.type === 'progress') clientState.progress = message
      if (message.type === 'produced') clientState.produced = message
      if (message.type === 'closed') clientState.closed = message
      if (message.type === 'consumer-error' || message.type === 'error') log(`client: ${message.message}`)
    })
    client.once('exit', () => { clientState.exited = true })
    const clientAlive = () => { if (clientState.exited) throw new RunFailure('the client process exited early (see client.log)') }
    const produceStartMs = Date.now()
    await until('the first acknowledgements', setupByMs + 10_000, () => { clientAlive(); return (clientState.progress?.acked ?? 0) > 0 ? true : undefined })
    log('producer and group consumer running')

    // ---- faults
    const schedule = faultSchedule(seed, seconds)
    const faultsStartMs = Date.now()
    const progressTimer = setInterval(() => {
      const p = clientState.progress
      if (p !== undefined) log(`progress: acked ${p.acked}, failed ${p.failed}, consumed ${p.consumed}`)
    }, 15_000)
    for (const fault of schedule) {
      clientAlive()
      await sleep(faultsStartMs + fault.atMs - Date.now())
      let victim = fault.broker
      if (fault.kind === 'leader-from-clients') {
        const leader = (await describe().catch(() => [])).find((item) => item.partition === fault.partition)?.leader
        if (leader !== undefined && leader > 0) victim = leader
      }
      log(`fault: ${describeFault(fault, victim)}`)
      switch (fault.kind) {
        case 'kill': {
          const child = state.brokers.get(victim)
          if (child !== undefined && running(victim)) {
            child.chaosKilled = true
            const exited = new Promise((resolve) => child.once('exit', resolve))
            child.kill('SIGKILL')
            await withTimeout(exited, 5_000)
          }
          await sleep(fault.durationMs)
          if (!running(victim)) startBroker(victim)
          break
        }
        case 'pause':
          state.brokers.get(victim)?.kill('SIGSTOP')
          await sleep(fault.durationMs)
          state.brokers.get(victim)?.kill('SIGCONT')
          break
        case 'partition':
          lab.dropBoth(`b${fault.broker}`, `b${fault.other}`)
          await sleep(fault.durationMs)
          lab.heal()
          break
        case 'one-way':
          lab.dropOneWay(`b${fault.broker}`, `b${fault.other}`)
          await sleep(fault.durationMs)
          lab.heal()
          break
        case 'leader-from-clients':
          lab.dropBoth(`b${victim}`, 'clients')
          await sleep(fault.durationMs)
          lab.heal()
          break
        case 'isolate':
          for (const host of lab.hosts.keys()) if (host !== `b${victim}`) lab.dropBoth(`b${victim}`, host)
          await sleep(fault.durationMs)
          lab.heal()
          break
      }
    }
    await sleep(faultsStartMs + seconds * 1000 - Date.now())
    clearInterval(progressTimer)

    // ---- heal and settle
    log('healing: no rules, every broker running and resumed')
    lab.heal()
    for (const id of brokerIds) { if (running(id)) state.brokers.get(id).kill('SIGCONT'); else startBroker(id) }
    const healStartMs = Date.now()
    const settleByMs = Math.min(endByMs - 20_000, healStartMs + 30_000)
    await allReady(settleByMs)
    await isrFull(settleByMs)
    const isrFullMs = Date.now() - healStartMs
    log(`ISR full again ${isrFullMs} ms after healing`)
    // A few acknowledgements on a healed cluster before stopping: unavailability that lasted until the heal shows.
    const ackedAtHeal = clientState.progress?.acked ?? 0
    await until('acknowledgements after healing', settleByMs, () => { clientAlive(); return (clientState.progress?.acked ?? 0) > ackedAtHeal ? true : undefined }).catch((error) => log(String(error.message)))
    client.stdin.write('stop-producing\n')
    const produceEndMs = Date.now()
    const produced = await until('the producer closed', endByMs - 15_000, () => { clientAlive(); return clientState.produced })
    log(`producer closed: issued ${produced.issued}, acked ${produced.acked}, failed ${produced.failed} ${JSON.stringify(produced.errors)}`)

    // ---- read back
    const ends = await until('end offsets of every partition', endByMs - 12_000, async () => {
      const listed = await admin.listOffsets(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })), 'latest')
      return listed.length === partitions && listed.every((item) => item.errorCode === '') ? new Map(listed.map((item) => [item.partition, Number(item.offset)])) : undefined
    })
    const logs = new Map()
    for (let partition = 0; partition < partitions; partition++) {
      const records = await readPartition(bootstrap, partition, ends.get(partition), endByMs - 10_000)
      if (ends.get(partition) > 0 && records.at(-1)?.offset !== ends.get(partition) - 1) {
        throw new RunFailure(`read back of partition ${partition} stopped at offset ${String(records.at(-1)?.offset)} of ${ends.get(partition)}`)
      }
      logs.set(partition, records)
    }
    log(`read back ${[...logs.values()].reduce((sum, records) => sum + records.length, 0)} records (end offsets ${[...ends.values()].join('/')})`)
    await until('the group consumer caught up', Math.min(endByMs - 8_000, Date.now() + 20_000), () => {
      clientAlive()
      const next = clientState.progress?.consumedNext ?? {}
      return [...ends].every(([partition, end]) => (next[partition] ?? 0) >= end) ? true : undefined
    }).catch((error) => log(`${error.message}: the group consumer is behind`))
    client.stdin.write('stop\n')
    await until('the client closed', endByMs - 6_000, () => clientState.closed ?? (clientState.exited ? {} : undefined))

    // ---- verdict
    const acked = (await readFile(join(dir, 'acked.log'), 'utf8')).split('\n').filter((line) => line !== '').map((line) => {
      const [ackMs, partition, offset, seq] = line.split(' ').map(Number)
      return { ackMs, partition, offset, seq }
    })
    const consumed = (await readFile(join(dir, 'consumed.log'), 'utf8')).split('\n').filter((line) => line !== '').map((line) => {
      const [partition, offset, value] = line.split(' ')
      return { partition: Number(partition), offset: Number(offset), value }
    })
    const failed = (await readFile(join(dir, 'failed.log'), 'utf8').catch(() => '')).split('\n').filter((line) => line !== '').map((line) => {
      const [partition, seq, failedCode] = line.split(' ')
      return { partition: Number(partition), seq: Number(seq), code: failedCode }
    })
    const verdict = checkRecords({ acked, logs, consumed, failed, issued: produced.issued, window: { startMs: produceStartMs, endMs: produceEndMs }, partitions })
    for (const [kind, examples] of Object.entries(verdict.examples)) for (const example of examples) log(`${kind}: ${example}`)
    if (verdict.ackedNotConsumed > 0) log(`the group consumer never got ${verdict.ackedNotConsumed} acknowledged records (a liveness problem, not a loss: the log has them)`)
    const violations = verdict.lost + verdict.duplicated + verdict.moved + verdict.phantom + verdict.consumerDiverged
    code = violations > 0 ? 1 : 0
    admin.close()
    admin = undefined
    await stopBrokers(state)
    const left = cleanup()
    if (left.length > 0) { log(`rules left after teardown:\n${left.join('\n')}`); code = 2 }
    const unavailable = Object.entries(verdict.unavailableMs).map(([partition, ms]) => `${partition}:${ms}`).join(',')
    console.log(`chaos: seed=${seed} seconds=${seconds} faults=${schedule.length} acked=${acked.length} failed=${produced.failed} failed_stored=${verdict.failedStored} stored=${verdict.stored} consumed=${consumed.length} ` +
      `lost=${verdict.lost} duplicated=${verdict.duplicated} moved=${verdict.moved} phantom=${verdict.phantom} consumer_diverged=${verdict.consumerDiverged} ` +
      `acked_not_consumed=${verdict.ackedNotConsumed} isr_full_after_heal_ms=${isrFullMs} longest_unavailable_ms=${unavailable} rules_left=${left.length} ` +
      `result=${code === 0 ? 'PASS' : 'FAIL'}`)
  } catch (error) {
    code = 2
    log(`run failed: ${error instanceof Error ? error.message : String(error)}`)
    console.log(`chaos: seed=${seed} seconds=${seconds} result=ERROR`)
  } finally {
    clearTimeout(overall)
    admin?.close()
    const left = cleanup()
    if (left.length > 0) { log(`rules left after teardown:\n${left.join('\n')}`); code = 2 }
    if (code === 0 && !keep) {
      await rm(dir, { recursive: true, force: true })
    } else {
      console.log(`chaos: data kept in ${dir}; replay with: npm run chaos -- --seconds ${seconds} --seed ${seed}`)
    }
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  return code
}

/** Reads `partition` from offset 0 up to `end` (exclusive), or stops short at `deadlineMs`. */
async function readPartition (bootstrap, partition, end, deadlineMs) {
  if (end <= 0) return []
  const consumer = new Consumer({ bootstrapServers: bootstrap, maxWaitMs: 200 })
  consumer.assign([{ topic, partition, offset: 0 }])
  const records = []
  const timer = setTimeout(() => { consumer.close().catch(() => undefined) }, Math.max(1_000, deadlineMs - Date.now()))
  try {
    for await (const message of consumer) {
      records.push({ offset: Number(message.offset), value: message.value?.toString() ?? null })
      if (Number(message.offset) >= end - 1) break
    }
  } finally {
    clearTimeout(timer)
    await withTimeout(consumer.close(), 5_000)
  }
  return records
}

/** SIGTERM (controlled shutdown) every broker, SIGKILL what still runs after 5 s: by PID. */
async function stopBrokers (state) {
  await Promise.all([...state.brokers.values()].map(async (child) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.chaosKilled = true
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGCONT')
    child.kill('SIGTERM')
    if (await withTimeout(exited.then(() => true), 5_000, false) !== true) {
      child.kill('SIGKILL')
      await withTimeout(exited, 2_000)
    }
  }))
}
