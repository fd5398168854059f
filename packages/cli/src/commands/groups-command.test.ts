/**
 * `gregor groups` over an in-memory admin (the multi-process tests in test/cluster run it against real brokers):
 * what goes to stdout and stderr and the exit code for each action, the refusals in Kafka's words (unknown group,
 * reset of an active group, delete of a non-empty group), that a reset without --execute changes nothing, and usage
 * errors (exit 2) of `groups`, `consume --group` and `bench consume --group`.
 */
import { afterEach, describe, expect, test, vi } from 'vitest'
import { GregorError, ErrorCode } from '@gregor/common'
import type { GroupDescription, GroupLagRow, OffsetResetPlanRow, OffsetResetSpec } from '@gregor/client'
import { benchClientCommand } from './bench-client-command.js'
import { consumeCommand } from './consume-command.js'
import { type GroupsAdmin, groupsCommand } from './groups-command.js'

afterEach(() => { vi.restoreAllMocks() })

interface Run { readonly code: number; readonly out: string; readonly err: string }

async function capture (body: () => Promise<number>): Promise<Run> {
  let out = ''
  let err = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { out += String(chunk); return true })
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => { err += String(chunk); return true })
  try {
    return { code: await body(), out, err }
  } finally {
    vi.restoreAllMocks()
  }
}

/** Groups, their lag rows and committed offsets in memory; records the resets it executed. */
class MemoryAdmin {
  readonly groups = new Map<string, GroupDescription>()
  readonly lag = new Map<string, GroupLagRow[]>()
  readonly executed: { groupId: string; plan: readonly OffsetResetPlanRow[] }[] = []
  closed = 0

  async findCoordinator (groupId: string): Promise<{ groupId: string; nodeId: number; host: string; port: number; partition: number }> {
    return { groupId, nodeId: 2, host: '127.0.0.1', port: 19092, partition: 7 }
  }

  async listGroups (options?: { states?: string[] }): Promise<{ groupId: string; groupType: string; state: string; coordinatorId: number }[]> {
    return [...this.groups.values()]
      .filter((group) => options?.states === undefined || options.states.includes(group.state))
      .map((group) => ({ groupId: group.groupId, groupType: group.groupType, state: group.state, coordinatorId: group.coordinatorId }))
  }

  async describeGroups (groupIds: string[]): Promise<GroupDescription[]> {
    return groupIds.map((groupId) => {
      const group = this.groups.get(groupId)
      if (group === undefined) throw new GregorError(ErrorCode.GROUP_ID_NOT_FOUND, `group ${groupId} not found`)
      return group
    })
  }

  async deleteGroups (groupIds: string[]): Promise<{ groupId: string; errorCode: string; errorMessage: string }[]> {
    return groupIds.map((groupId) => {
      const group = this.groups.get(groupId)
      if (group === undefined) return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: '' }
      if (group.members.length > 0) return { groupId, errorCode: ErrorCode.NON_EMPTY_GROUP, errorMessage: 'The group is not empty.' }
      this.groups.delete(groupId)
      return { groupId, errorCode: '', errorMessage: '' }
    })
  }

  async fetchOffsets (groupId: string): Promise<{ topic: string; partition: number; offset: number; leaderEpoch: number; metadata: string; commitTimestampMs: number }[]> {
    return (this.lag.get(groupId) ?? []).flatMap((row) => row.currentOffset === null
      ? []
      : [{ topic: row.topic, partition: row.partition, offset: row.currentOffset, leaderEpoch: 0, metadata: '', commitTimestampMs: 0 }])
  }

  async groupLag (groupId: string): Promise<GroupLagRow[]> {
    return this.lag.get(groupId) ?? []
  }

  async planOffsetReset (groupId: string, topic: string, spec: OffsetResetSpec, partitions?: number[]): Promise<OffsetResetPlanRow[]> {
    return (this.lag.get(groupId) ?? [])
      .filter((row) => row.topic === topic && (partitions === undefined || partitions.includes(row.partition)))
      .map((row) => ({
        topic, partition: row.partition, currentOffset: row.currentOffset,
        newOffset: spec.kind === 'earliest' ? 0 : spec.kind === 'shift' ? Math.max(0, (row.currentOffset ?? 0) + spec.by) : row.logEndOffset,
      }))
  }

  async resetOffsets (groupId: string, plan: readonly OffsetResetPlanRow[]): Promise<void> {
    this.executed.push({ groupId, plan })
  }

  close (): void { this.closed++ }
}

function memoryAdmin (): MemoryAdmin {
  const admin = new MemoryAdmin()
  const member = {
    memberId: 'm-1', instanceId: '', clientId: 'console', clientHost: '/127.0.0.1', rackId: '', memberEpoch: 5, state: 'stable',
    subscribedTopicNames: ['orders'], subscribedTopicRegex: '', assignment: [{ topic: 'orders', partitions: [0, 1] }], targetAssignment: [],
  }
  admin.groups.set('active', {
    groupId: 'active', groupType: 'consumer', state: 'stable', groupEpoch: 5, assignmentEpoch: 5, assignorName: 'uniform', coordinatorId: 2, members: [member],
  })
  admin.groups.set('idle', {
    groupId: 'idle', groupType: 'consumer', state: 'empty', groupEpoch: 6, assignmentEpoch: 6, assignorName: 'uniform', coordinatorId: 2, members: [],
  })
  const row = (groupId: string, partition: number, currentOffset: number | null, owner: boolean): GroupLagRow => ({
    groupId, topic: 'orders', partition, currentOffset, logEndOffset: 20, lag: currentOffset === null ? null : 20 - currentOffset,
    memberId: owner ? 'm-1' : null, clientHost: owner ? '/127.0.0.1' : null, clientId: owner ? 'console' : null,
  })
  admin.lag.set('active', [row('active', 0, 15, true), row('active', 1, null, true)])
  admin.lag.set('idle', [row('idle', 0, 4, false), row('idle', 1, 9, false)])
  return admin
}

async function groups (admin: MemoryAdmin, argv: string[]): Promise<Run> {
  return await capture(async () => await groupsCommand([...argv.slice(0, 1), '-b', '127.0.0.1:1', ...argv.slice(1)], { admin: () => admin as unknown as GroupsAdmin }))
}

const cells = (out: string): string[][] => out.split('\n').filter((line) => line !== '').map((line) => line.split(/ +/))

describe('groups list', () => {
  test('ids one per line; --state adds TYPE and STATE and filters; --json lists objects', async () => {
    const admin = memoryAdmin()
    expect(await groups(admin, ['list'])).toEqual({ code: 0, out: 'active\nidle\n', err: '' })
    expect(cells((await groups(admin, ['list', '--state'])).out)).toEqual([['GROUP', 'TYPE', 'STATE'], ['active', 'Consumer', 'Stable'], ['idle', 'Consumer', 'Empty']])
    expect(cells((await groups(admin, ['list', '--state', 'Empty'])).out)).toEqual([['GROUP', 'TYPE', 'STATE'], ['idle', 'Consumer', 'Empty']])
    expect(JSON.parse((await groups(admin, ['list', '--json'])).out)).toEqual([
      { groupId: 'active', groupType: 'Consumer', state: 'Stable', coordinatorId: 2 },
      { groupId: 'idle', groupType: 'Consumer', state: 'Empty', coordinatorId: 2 },
    ])
    expect(admin.closed).toBe(4)
  })
})

describe('groups describe', () => {
  test('--offsets (the default) prints the lag table', async () => {
    const run = await groups(memoryAdmin(), ['describe', '--group', 'active'])
    expect(run.code).toBe(0)
    expect(cells(run.out)).toEqual([
      ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'],
      ['active', 'orders', '0', '15', '20', '5', 'm-1', '/127.0.0.1', 'console'],
      ['active', 'orders', '1', '-', '20', '-', 'm-1', '/127.0.0.1', 'console'],
    ])
    expect(run.err).toBe('')
  })

  test('an empty group: the note on stderr, and no member table', async () => {
    const offsets = await groups(memoryAdmin(), ['describe', '--group', 'idle', '--offsets'])
    expect(offsets.err).toBe("Consumer group 'idle' has no active members.\n")
    expect(cells(offsets.out).map((row) => row.slice(0, 6))).toEqual([
      ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG'], ['idle', 'orders', '0', '4', '20', '16'], ['idle', 'orders', '1', '9', '20', '11'],
    ])
    expect(await groups(memoryAdmin(), ['describe', '--group', 'idle', '--members'])).toMatchObject({ code: 0, out: '' })
  })

  test('--members [--verbose] and --state', async () => {
    expect(cells((await groups(memoryAdmin(), ['describe', '--group', 'active', '--members', '--verbose'])).out)).toEqual([
      ['GROUP', 'CONSUMER-ID', 'HOST', 'CLIENT-ID', '#PARTITIONS', 'ASSIGNMENT'], ['active', 'm-1', '/127.0.0.1', 'console', '2', 'orders(0,1)'],
    ])
    const state = await groups(memoryAdmin(), ['describe', '--group', 'active', '--state'])
    expect(state.out.split('\n')[1]).toMatch(/^active +127\.0\.0\.1:19092 {2}\(2\) +uniform +Stable +1$/)
  })

  test('--json: one document with the coordinator, state, members and offsets', async () => {
    const run = await groups(memoryAdmin(), ['describe', '--group', 'active', '--json'])
    expect(run.out.trim().split('\n')).toHaveLength(1)
    const document = JSON.parse(run.out) as { coordinator: unknown; state: string; members: { memberId: string }[]; offsets: unknown[] }
    expect(document.coordinator).toEqual({ id: 2, host: '127.0.0.1', port: 19092 })
    expect(document.state).toBe('Stable')
    expect(document.members.map((member) => member.memberId)).toEqual(['m-1'])
    expect(document.offsets).toHaveLength(2)
  })

  test("an unknown group: Kafka's message, exit 1", async () => {
    expect(await groups(memoryAdmin(), ['describe', '--group', 'nope'])).toEqual({ code: 1, out: '', err: "Error: Consumer group 'nope' does not exist.\n" })
    expect((await groups(memoryAdmin(), ['describe', '--group', 'nope', '--json'])).code).toBe(1)
  })
})

describe('groups delete', () => {
  test('an empty group is deleted; a non-empty one is refused with exit 1', async () => {
    const admin = memoryAdmin()
    expect(await groups(admin, ['delete', '--group', 'idle'])).toEqual({ code: 0, out: "Deletion of requested consumer groups ('idle') was successful.\n", err: '' })
    expect(admin.groups.has('idle')).toBe(false)
    const refused = await groups(admin, ['delete', '--group', 'active'])
    expect(refused).toMatchObject({ code: 1, out: '' })
    expect(refused.err).toBe("Error: Deletion of some consumer groups failed:\n* Group 'active' could not be deleted due to: NON_EMPTY_GROUP: The group is not empty.\n")
  })
})

describe('groups reset-offsets', () => {
  test('without --execute: prints the plan, says it is a dry run, changes nothing', async () => {
    const admin = memoryAdmin()
    const run = await groups(admin, ['reset-offsets', '--group', 'idle', '--topic', 'orders', '--to-earliest'])
    expect(run.code).toBe(0)
    expect(cells(run.out)).toEqual([['GROUP', 'TOPIC', 'PARTITION', 'NEW-OFFSET'], ['idle', 'orders', '0', '0'], ['idle', 'orders', '1', '0']])
    expect(run.err).toContain('--execute')
    expect(admin.executed).toEqual([])
  })

  test('--execute applies the plan of the selected partitions; --json prints it', async () => {
    const admin = memoryAdmin()
    const run = await groups(admin, ['reset-offsets', '--group', 'idle', '--topic', 'orders:1', '--shift-by', '-5', '--execute', '--json'])
    expect(run.code).toBe(0)
    const plan = [{ topic: 'orders', partition: 1, currentOffset: 9, newOffset: 4 }]
    expect(JSON.parse(run.out)).toEqual({ groupId: 'idle', executed: true, plan })
    expect(run.err).toBe('')
    expect(admin.executed).toEqual([{ groupId: 'idle', plan }])
  })

  test('--all-topics takes the partitions with committed offsets', async () => {
    const admin = memoryAdmin()
    await groups(admin, ['reset-offsets', '--group', 'idle', '--all-topics', '--to-latest', '--execute'])
    expect(admin.executed[0]?.plan.map((row) => [row.topic, row.partition, row.newOffset])).toEqual([['orders', 0, 20], ['orders', 1, 20]])
  })

  test("a group with members is refused before planning, in Kafka's words", async () => {
    const admin = memoryAdmin()
    const run = await groups(admin, ['reset-offsets', '--group', 'active', '--topic', 'orders', '--to-earliest', '--execute'])
    expect(run).toEqual({ code: 1, out: '', err: "Error: Assignments can only be reset if the group 'active' is inactive, but the current state is Stable.\n" })
    expect(admin.executed).toEqual([])
  })

  test('a group that joined in between: the coordinator refusal is reported the same way', async () => {
    const admin = memoryAdmin()
    admin.resetOffsets = async () => {
      admin.groups.set('idle', { ...(admin.groups.get('idle') as GroupDescription), state: 'reconciling' })
      throw new GregorError(ErrorCode.NON_EMPTY_GROUP, 'group idle is not empty')
    }
    const run = await groups(admin, ['reset-offsets', '--group', 'idle', '--topic', 'orders', '--to-earliest', '--execute'])
    expect(run).toMatchObject({ code: 1, err: "Error: Assignments can only be reset if the group 'idle' is inactive, but the current state is Reconciling.\n" })
  })
})

describe('usage errors exit 2 before connecting', () => {
  test.each([
    [['describe']],
    [['describe', '--group', 'g', '--members', '--state']],
    [['delete']],
    [['reset-offsets', '--group', 'g', '--topic', 't']],
    [['reset-offsets', '--group', 'g', '--to-earliest']],
    [['reset-offsets', '--group', 'g', '--topic', 't', '--all-topics', '--to-earliest']],
    [['reset-offsets', '--group', 'g', '--topic', 't', '--to-earliest', '--execute', '--dry-run']],
    [['rebalance']],
  ])('groups %j', async (argv) => {
    const admin = memoryAdmin()
    const run = await groups(admin, argv)
    expect(run.code).toBe(2)
    expect(run.err).toContain('usage:')
    expect(admin.closed).toBe(0)
  })

  test('consume: --partition or --offset with --group', async () => {
    for (const extra of [['--partition', '0'], ['--offset', '3']]) {
      const run = await capture(async () => await consumeCommand(['--topic', 't', '--group', 'g', ...extra, '-b', '127.0.0.1:1']))
      expect(run.code).toBe(2)
      expect(run.err).toContain('cannot be used with --group')
    }
  })

  test('bench: --consumers without --group, --group with produce', async () => {
    const noGroup = await capture(async () => await benchClientCommand(['consume', '--topic', 't', '--records', '1', '--consumers', '2', '-b', '127.0.0.1:1']))
    expect(noGroup.code).toBe(2)
    expect(noGroup.err).toContain('--consumers needs --group')
    const produce = await capture(async () => await benchClientCommand(['produce', '--topic', 't', '--records', '1', '--group', 'g', '-b', '127.0.0.1:1']))
    expect(produce.code).toBe(2)
    expect(produce.err).toContain('--group only goes with bench consume')
  })

  test('bench: --batch-bytes only with produce, and a positive integer', async () => {
    const consume = await capture(async () => await benchClientCommand(['consume', '--topic', 't', '--records', '1', '--batch-bytes', '1024', '-b', '127.0.0.1:1']))
    expect(consume.code).toBe(2)
    expect(consume.err).toContain('--batch-bytes only goes with bench produce')
    const zero = await capture(async () => await benchClientCommand(['produce', '--topic', 't', '--records', '1', '--batch-bytes', '0', '-b', '127.0.0.1:1']))
    expect(zero.code).toBe(2)
    expect(zero.err).toContain('--batch-bytes')
  })
})
