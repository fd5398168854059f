import { describe, expect, test } from 'vitest'
import { brokerMemory, brokerMemoryLines, metricValue, parseBrokerMemory } from './broker-memory.js'

const exposition = [
  '# HELP process_resident_memory_bytes Resident memory size in bytes.',
  '# TYPE process_resident_memory_bytes gauge',
  'process_resident_memory_bytes 104857600',
  'nodejs_heap_size_used_bytes 2.5e7',
  'nodejs_heap_size_total_bytes 40000000',
  'nodejs_external_memory_bytes 3000000',
  'gregor_log_size_bytes 123456789',
].join('\n')

describe('broker memory from /metrics', () => {
  test('reads RSS, heap used, external and log size; a sibling with a longer name is not taken', () => {
    expect(parseBrokerMemory(exposition)).toEqual({ rssBytes: 104_857_600, heapUsedBytes: 25_000_000, externalBytes: 3_000_000, logSizeBytes: 123_456_789 })
    expect(metricValue('nodejs_heap_size_used_bytes_extra 1\n', 'nodejs_heap_size_used_bytes')).toBeUndefined()
    // An older broker without the log gauge: that field is left out, not zero.
    expect(parseBrokerMemory('process_resident_memory_bytes 1\n')).toEqual({ rssBytes: 1 })
  })

  test('start and end per broker, in order; an unread broker keeps its error', () => {
    const memory = brokerMemory(
      [{ url: 'a', rssBytes: 100e6, heapUsedBytes: 20e6 }, { url: 'b', error: 'ECONNREFUSED' }],
      [{ url: 'a', rssBytes: 150e6, heapUsedBytes: 22e6, logSizeBytes: 2e9 }, { url: 'b', error: 'ECONNREFUSED' }],
    )
    expect(memory).toEqual([
      { url: 'a', start: { rssBytes: 100e6, heapUsedBytes: 20e6 }, end: { rssBytes: 150e6, heapUsedBytes: 22e6, logSizeBytes: 2e9 } },
      { url: 'b', start: {}, end: {}, error: 'ECONNREFUSED' },
    ])
    expect(brokerMemoryLines(memory)).toEqual([
      ['broker rss MB', '1: 100 → 150  2: unread (ECONNREFUSED)'],
      ['broker heap MB', '1: 20.0 → 22.0  2: unread (ECONNREFUSED)'],
      ['broker log MB', '1: ? → 2000  2: unread (ECONNREFUSED)'],
    ])
    expect(brokerMemoryLines([])).toEqual([])
  })
})
