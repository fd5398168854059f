/**
 * The `gregor groups` tables: Kafka's column titles in order, Kafka's minimum widths and alignment, '-' for what is
 * missing, rows of idle members, the `topic(0,1)` assignment text, and the describe JSON document.
 */
import { describe, expect, test } from 'vitest'
import type { GroupDescription, GroupLagRow, GroupMemberDescription } from '@gregor/client'
import {
  alignedTable, assignmentText, describeDocument, displayName, listTable, membersTable, offsetsTable, resetPlanTable, stateTable,
} from './group-table.js'

function member (memberId: string, assignment: { topic: string; partitions: number[] }[], clientId = 'console'): GroupMemberDescription {
  return {
    memberId, instanceId: '', clientId, clientHost: '/127.0.0.1', rackId: '', memberEpoch: 3, state: 'stable',
    subscribedTopicNames: ['orders'], subscribedTopicRegex: '', assignment, targetAssignment: assignment,
  }
}

const group: GroupDescription = {
  groupId: 'billing', groupType: 'consumer', state: 'stable', groupEpoch: 4, assignmentEpoch: 4, assignorName: 'uniform',
  coordinatorId: 2, members: [member('m-2', []), member('m-1', [{ topic: 'orders', partitions: [2, 0] }])],
}

const lagRows: GroupLagRow[] = [
  { groupId: 'billing', topic: 'orders', partition: 0, currentOffset: 10, logEndOffset: 12, lag: 2, memberId: 'm-1', clientHost: '/127.0.0.1', clientId: 'console' },
  { groupId: 'billing', topic: 'orders', partition: 1, currentOffset: null, logEndOffset: 7, lag: null, memberId: null, clientHost: null, clientId: null },
]

/** Start index of each title in the header, so rows can be checked against the header's columns. */
function columnStarts (header: string, titles: readonly string[]): number[] {
  return titles.map((title) => header.indexOf(title))
}

/** Start index of each whitespace-separated cell of a line. */
function cellStarts (line: string): number[] {
  return [...line.matchAll(/\S+/g)].map((match) => match.index)
}

describe('alignedTable', () => {
  test('pads every column but the last to max(minimum, title, cells), one space apart, no trailing spaces', () => {
    const lines = alignedTable([{ title: 'A', minWidth: 3 }, { title: 'BB', minWidth: 0 }, { title: 'C', minWidth: 5 }], [['long-cell', 'x', ''], ['y', 'zzz', 'w']])
    expect(lines).toEqual([
      'A         BB  C',
      'long-cell x',
      'y         zzz w',
    ])
  })
})

describe('offsetsTable', () => {
  test("prints Kafka's columns in order, aligned, with '-' where nothing is committed or nobody owns the partition", () => {
    const lines = offsetsTable('billing', lagRows, group.members)
    const titles = ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID']
    expect(lines[0]?.split(/ +/)).toEqual(titles)
    // Kafka's minimum widths: 15 for the names and offsets, 10 for PARTITION, one space between columns.
    expect(columnStarts(lines[0] ?? '', titles)).toEqual([0, 16, 32, 43, 59, 75, 91, 107, 123])
    expect(lines.slice(1).map((line) => line.split(/ +/))).toEqual([
      ['billing', 'orders', '0', '10', '12', '2', 'm-1', '/127.0.0.1', 'console'],
      ['billing', 'orders', '1', '-', '7', '-', '-', '-', '-'],
      // The member that owns nothing gets a row of its own, as in Kafka.
      ['billing', '-', '-', '-', '-', '-', 'm-2', '/127.0.0.1', 'console'],
    ])
    // Every cell starts where its column's title starts.
    for (const line of lines.slice(1)) expect(cellStarts(line)).toEqual(columnStarts(lines[0] ?? '', titles))
  })

  test('widens a column for a long consumer id and keeps the columns after it aligned', () => {
    const longId = 'console-consumer-5f0c3e52-9d7b-4f3a-a0a4-2b3d3c1e7f10'
    const lines = offsetsTable('billing', [{ ...lagRows[0] as GroupLagRow, memberId: longId }])
    const hostStart = (lines[0] ?? '').indexOf('HOST')
    expect(hostStart).toBe(91 + longId.length + 1)
    expect((lines[1] ?? '').indexOf('/127.0.0.1')).toBe(hostStart)
  })

  test('a group without offsets and members has only the header (the command then prints nothing)', () => {
    expect(offsetsTable('billing', [], [])).toHaveLength(1)
  })
})

describe('membersTable', () => {
  test('counts partitions per member and lists them with --verbose', () => {
    const plain = membersTable('billing', group.members, { verbose: false })
    expect(plain[0]?.split(/ +/)).toEqual(['GROUP', 'CONSUMER-ID', 'HOST', 'CLIENT-ID', '#PARTITIONS'])
    expect(plain.slice(1).map((line) => line.split(/ +/))).toEqual([
      ['billing', 'm-1', '/127.0.0.1', 'console', '2'],
      ['billing', 'm-2', '/127.0.0.1', 'console', '0'],
    ])
    const verbose = membersTable('billing', group.members, { verbose: true })
    expect(verbose[0]?.split(/ +/)).toEqual(['GROUP', 'CONSUMER-ID', 'HOST', 'CLIENT-ID', '#PARTITIONS', 'ASSIGNMENT'])
    expect(verbose.slice(1).map((line) => line.split(/ +/).slice(4))).toEqual([['2', 'orders(0,2)'], ['0', '-']])
  })
})

describe('stateTable', () => {
  test("names the coordinator as Kafka does, 'host:port  (id)', and the state in Kafka's spelling", () => {
    const lines = stateTable(group, { id: 2, host: '127.0.0.1', port: 19092 })
    expect(lines[0]).toMatch(/^GROUP +COORDINATOR \(ID\) +ASSIGNMENT-STRATEGY +STATE +#MEMBERS$/)
    expect(lines[1]).toMatch(/^billing +127\.0\.0\.1:19092 {2}\(2\) +uniform +Stable +2$/)
    expect((lines[1] ?? '').indexOf('Stable')).toBe((lines[0] ?? '').indexOf('STATE'))
  })
})

describe('listTable and resetPlanTable', () => {
  test('list --state: GROUP TYPE STATE', () => {
    const lines = listTable([
      { groupId: 'billing', groupType: 'consumer', state: 'stable', coordinatorId: 1 },
      { groupId: 'audit', groupType: 'classic', state: 'empty', coordinatorId: 3 },
    ])
    expect(lines.map((line) => line.split(/ +/))).toEqual([['GROUP', 'TYPE', 'STATE'], ['billing', 'Consumer', 'Stable'], ['audit', 'Classic', 'Empty']])
  })

  test('reset plan: GROUP TOPIC PARTITION NEW-OFFSET', () => {
    const lines = resetPlanTable('billing', [{ topic: 'orders', partition: 0, currentOffset: 10, newOffset: 0 }, { topic: 'orders', partition: 1, currentOffset: null, newOffset: 0 }])
    expect(lines.map((line) => line.split(/ +/))).toEqual([['GROUP', 'TOPIC', 'PARTITION', 'NEW-OFFSET'], ['billing', 'orders', '0', '0'], ['billing', 'orders', '1', '0']])
    expect((lines[0] ?? '').indexOf('TOPIC')).toBe(31)
  })
})

describe('names', () => {
  test("states and types in Kafka's spelling; assignments grouped by topic and sorted", () => {
    expect(['stable', 'Stable', 'preparing_rebalance', 'consumer', ''].map(displayName)).toEqual(['Stable', 'Stable', 'PreparingRebalance', 'Consumer', '-'])
    expect(assignmentText([{ topic: 'b', partitions: [3, 1] }, { topic: 'a', partitions: [0] }, { topic: 'b', partitions: [2] }, { topic: 'c', partitions: [] }]))
      .toBe('a(0),b(1,2,3)')
    expect(assignmentText([])).toBe('-')
  })

  test('the describe document carries the coordinator, the state, the members and the offset rows', () => {
    const document = describeDocument(group, { id: 2, host: '127.0.0.1', port: 19092 }, lagRows)
    expect(document).toMatchObject({
      groupId: 'billing', groupType: 'Consumer', state: 'Stable', assignmentStrategy: 'uniform', coordinator: { id: 2, host: '127.0.0.1', port: 19092 },
    })
    expect(document.members.map((m) => m.memberId)).toEqual(['m-1', 'm-2'])
    expect(JSON.parse(JSON.stringify(document)).offsets).toEqual(lagRows)
  })
})
