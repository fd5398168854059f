/**
 * `gregor produce --json` as `tail -f log | gregor produce --json` runs it (issue 10, defect 13): its own process
 * against a real broker, stdin left open, and each line's acknowledgement must appear on stdout while more input may
 * still come, in input order; not once 10,000 more lines are pending or stdin ends. `gregor produce -z C` stores
 * batches compressed with each of Kafka's codecs, and both `gregor consume` and kcat (librdkafka's decoders, through
 * the Kafka listener) read them back. Also `splitLine`.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, test } from 'vitest'
import { type Admin, COMPRESSION_NAMES } from '@gregor/client'
import { type BrokerProcesses, waitFor } from '@gregor/cli'
import { clientMethods, type gregor } from '@gregor/protocol'
import { COMPRESSION_CODEC_IDS, readBatchHeader } from '@gregor/records'
import { createTopicInSync, lines, rawCall, runGregor, spawnGregor, useCluster } from '../../../../test/cluster/cluster-helpers.js'
import { splitLine } from './produce-command.js'

const run = promisify(execFile)

let cluster: BrokerProcesses
let admin: Admin

useCluster((started, startedAdmin) => { cluster = started; admin = startedAdmin }, { count: 1 })

interface Ack { readonly topic: string; readonly partition: number; readonly offset: number; readonly key: string | null; readonly value: string }

describe('gregor produce --json against a broker', () => {
  test('prints each acknowledgement as soon as it arrives, while stdin stays open', async () => {
    await createTopicInSync(cluster, admin, { topic: 'produce-acks', numPartitions: 1, replicationFactor: 1 })
    const gregor = spawnGregor(cluster, ['produce', '--topic', 'produce-acks', '--key-separator', ':', '--json'])
    const { child } = gregor
    try {
      const acks = async (count: number): Promise<Ack[]> => await waitFor(`${count} acknowledgement(s) on stdout`, () => {
        const printed = lines(gregor.stdout)
        return printed.length >= count ? printed.map((line) => JSON.parse(line) as Ack) : undefined
      }, { timeoutMs: 15_000 }).catch((error: unknown) => { throw new Error(`${String(error)}; stderr: ${gregor.stderr}`) })

      child.stdin.write('alice:signed up\n') // stdin stays open: more lines may come
      const [first] = await acks(1)
      expect(first).toEqual({ topic: 'produce-acks', partition: 0, offset: 0, key: 'alice', value: 'signed up' })

      child.stdin.write('no key here\n')
      const printed = await acks(2)
      expect(printed).toEqual([first, { topic: 'produce-acks', partition: 0, offset: 1, key: null, value: 'no key here' }])

      child.stdin.end()
      expect(await gregor.closed).toBe(0)
      expect(lines(gregor.stdout)).toHaveLength(2)
      expect(gregor.stderr).toBe('')
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') // this test's own child, by handle
    }
  }, 60_000)
})

describe('gregor produce --compression', () => {
  test.each(COMPRESSION_NAMES)('-z %s: the stored batch uses that codec; gregor consume and kcat read it back', async (compression) => {
    const topic = `produce-z-${compression}`
    await createTopicInSync(cluster, admin, { topic, numPartitions: 1, replicationFactor: 1 })
    const longValue = 'second value, '.repeat(20) // compressible, so every codec has something to do
    const input = ['k1:first value', `k2:${longValue}`, 'k1:third'].join('\n')
    const produced = await runGregor(cluster, ['produce', '--topic', topic, '-z', compression, '--key-separator', ':'], input)
    expect(produced).toMatchObject({ code: 0, stderr: '' })

    const fetched = await rawCall(cluster.brokers[0]!.clientAddress, clientMethods.fetch as never, {
      maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, partitions: [{ topic, partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1 }],
    }) as gregor.cluster.FetchResponse
    const records = Buffer.from(fetched.partitions[0]?.records ?? [])
    expect(records.length).toBeGreaterThan(0)
    expect(readBatchHeader(records).attributes & 0x07).toBe(COMPRESSION_CODEC_IDS[compression])

    const consumed = await runGregor(cluster, ['consume', '--topic', topic, '--from-beginning', '--max-messages', '3', '--json'])
    expect(consumed.code).toBe(0)
    expect(lines(consumed.stdout).map((line) => JSON.parse(line) as { offset: number, key: string, value: string })
      .map(({ offset, key, value }) => ({ offset, key, value }))).toEqual([
      { offset: 0, key: 'k1', value: 'first value' },
      { offset: 1, key: 'k2', value: longValue },
      { offset: 2, key: 'k1', value: 'third' },
    ])

    // Another implementation's decoder: librdkafka decompresses what Gregor compressed.
    const { stdout } = await run('/usr/bin/kcat', ['-b', cluster.kafkaBootstrapServers, '-C', '-t', topic, '-o', 'beginning', '-e', '-J', '-q'], { timeout: 30_000 })
    expect(lines(stdout).map((line) => JSON.parse(line) as { offset: number, key: string, payload: string })
      .map(({ offset, key, payload }) => ({ offset, key, value: payload }))).toEqual([
      { offset: 0, key: 'k1', value: 'first value' },
      { offset: 1, key: 'k2', value: longValue },
      { offset: 2, key: 'k1', value: 'third' },
    ])
  }, 60_000)

  test('an unknown codec is a usage error naming the choices', async () => {
    const run = await runGregor(cluster, ['produce', '--topic', 'any', '--compression', 'brotli'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain("--compression must be one of none, gzip, snappy, lz4, zstd (got 'brotli')")
  })
})

describe('splitLine', () => {
  test('splits at the first separator; a line without it, or no separator given, is a keyless record', () => {
    expect(splitLine('a:b:c', ':')).toEqual({ key: 'a', value: 'b:c' })
    expect(splitLine('abc', ':')).toEqual({ key: null, value: 'abc' })
    expect(splitLine('a:b', undefined)).toEqual({ key: null, value: 'a:b' })
    expect(splitLine(':v', ':')).toEqual({ key: '', value: 'v' })
  })
})
