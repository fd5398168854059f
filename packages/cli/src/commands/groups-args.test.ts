/**
 * Parsing of `gregor groups reset-offsets` and `list` arguments: the topic selector, the single reset specification,
 * negative values and a bare `--state`, which node's parseArgs refuses as typed.
 */
import { describe, expect, test } from 'vitest'
import { allowBareFlag, attachNegativeValues, resetSpec, signedIntegerFlag, stateFilter, topicSelection } from './groups-args.js'

describe('topicSelection', () => {
  test('a topic alone means every partition; T:P,P names partitions (sorted, once each)', () => {
    const problems: string[] = []
    expect(topicSelection('orders', problems)).toEqual({ topic: 'orders', partitions: undefined })
    expect(topicSelection('orders:2,0,2', problems)).toEqual({ topic: 'orders', partitions: [0, 2] })
    expect(problems).toEqual([])
  })

  test('a missing topic or a partition that is not an integer is a problem', () => {
    const problems: string[] = []
    expect(topicSelection(':0', problems)).toBeUndefined()
    expect(topicSelection('orders:1,x', problems)).toBeUndefined()
    expect(topicSelection('orders:', problems)).toBeUndefined()
    expect(topicSelection('orders:-1', problems)).toBeUndefined()
    expect(problems).toHaveLength(4)
  })
})

describe('resetSpec', () => {
  test('each flag gives its specification', () => {
    const problems: string[] = []
    expect(resetSpec({ 'to-earliest': true }, problems)).toEqual({ kind: 'earliest' })
    expect(resetSpec({ 'to-latest': true }, problems)).toEqual({ kind: 'latest' })
    expect(resetSpec({ 'to-offset': '42' }, problems)).toEqual({ kind: 'offset', offset: 42 })
    expect(resetSpec({ 'shift-by': '-5' }, problems)).toEqual({ kind: 'shift', by: -5 })
    expect(resetSpec({ 'shift-by': '+3' }, problems)).toEqual({ kind: 'shift', by: 3 })
    expect(resetSpec({ 'to-datetime': '2024-05-01T12:00:00.000Z' }, problems)).toEqual({ kind: 'datetime', timestampMs: Date.UTC(2024, 4, 1, 12) })
    expect(resetSpec({ 'to-datetime': '2024-05-01T12:00:00+02:00' }, problems)).toEqual({ kind: 'datetime', timestampMs: Date.UTC(2024, 4, 1, 10) })
    // Without a zone: local time, as Kafka's tool reads it.
    expect(resetSpec({ 'to-datetime': '2024-05-01T12:00:00.000' }, problems)).toEqual({ kind: 'datetime', timestampMs: new Date(2024, 4, 1, 12).getTime() })
    expect(problems).toEqual([])
  })

  test('none, two, or a bad value are problems', () => {
    const cases = [{}, { 'to-earliest': true, 'to-latest': true }, { 'to-offset': '-1' }, { 'to-offset': 'x' }, { 'to-datetime': 'yesterday' }, { 'shift-by': '1.5' }]
    for (const flags of cases) {
      const problems: string[] = []
      expect(resetSpec(flags, problems)).toBeUndefined()
      expect(problems).toHaveLength(1)
    }
    const both: string[] = []
    resetSpec({ 'to-earliest': true, 'shift-by': '1' }, both)
    expect(both[0]).toContain('--to-earliest, --shift-by')
    // A boolean flag given as false is not given.
    expect(resetSpec({ 'to-earliest': false, 'to-latest': true }, [])).toEqual({ kind: 'latest' })
  })

  test('signedIntegerFlag leaves an absent flag undefined', () => {
    expect(signedIntegerFlag('shift-by', undefined, [])).toBeUndefined()
  })
})

describe('argv fix-ups', () => {
  test('a negative value after --shift-by or --to-offset is attached to the flag', () => {
    expect(attachNegativeValues(['--group', 'g', '--shift-by', '-5', '--to-offset', '-1', '--topic', 't'], ['--shift-by', '--to-offset']))
      .toEqual(['--group', 'g', '--shift-by=-5', '--to-offset=-1', '--topic', 't'])
    expect(attachNegativeValues(['--shift-by', '--execute'], ['--shift-by'])).toEqual(['--shift-by', '--execute'])
  })

  test('a bare --state becomes --state= (no filter); one with a value is kept', () => {
    expect(allowBareFlag(['--state'], '--state')).toEqual(['--state='])
    expect(allowBareFlag(['--state', '--json'], '--state')).toEqual(['--state=', '--json'])
    expect(allowBareFlag(['--state', 'Stable,Empty'], '--state')).toEqual(['--state', 'Stable,Empty'])
    expect(stateFilter('Stable, empty')).toEqual(['stable', 'empty'])
    expect(stateFilter('')).toEqual([])
  })
})
