import { describe, expect, test } from 'vitest'
import { cpuPerRecord, metricsUrl, parseProcessCpuSeconds } from './process-cpu.js'

describe('broker CPU from /metrics', () => {
  test('reads process_cpu_seconds_total with or without labels, ignoring its user/system siblings', () => {
    const text = [
      '# HELP process_cpu_user_seconds_total Total user CPU time spent in seconds.',
      '# TYPE process_cpu_user_seconds_total counter',
      'process_cpu_user_seconds_total 1.5',
      '# TYPE process_cpu_seconds_total counter',
      'process_cpu_seconds_total 2.25',
    ].join('\n')
    expect(parseProcessCpuSeconds(text)).toBe(2.25)
    expect(parseProcessCpuSeconds('process_cpu_seconds_total{node_id="2"} 3e-1\n')).toBe(0.3)
    expect(parseProcessCpuSeconds('process_cpu_user_seconds_total 1\n')).toBeUndefined()
  })

  test('an admin base URL gets /metrics; a full URL stays', () => {
    expect(metricsUrl('http://127.0.0.1:8081')).toBe('http://127.0.0.1:8081/metrics')
    expect(metricsUrl('http://127.0.0.1:8081/metrics')).toBe('http://127.0.0.1:8081/metrics')
  })

  test('CPU per record: client from cpuUsage, each broker from its two readings, the total only when all were read', () => {
    const before = [{ url: 'a', cpuSeconds: 10 }, { url: 'b', cpuSeconds: 20 }]
    const after = [{ url: 'a', cpuSeconds: 12 }, { url: 'b', cpuSeconds: 21 }]
    const cpu = cpuPerRecord(1_000_000, { user: 3_000_000, system: 1_000_000 }, before, after)
    expect(cpu).toEqual({
      clientCpuMs: 4000, clientUsPerRecord: 4,
      brokers: [{ url: 'a', cpuMs: 2000, usPerRecord: 2 }, { url: 'b', cpuMs: 1000, usPerRecord: 1 }],
      brokersUsPerRecord: 3,
    })
    const partial = cpuPerRecord(10, { user: 0, system: 0 }, before, [after[0] ?? { url: 'a' }, { url: 'b', error: 'ECONNREFUSED' }])
    expect(partial.brokers[1]).toEqual({ url: 'b', error: 'ECONNREFUSED' })
    expect(partial.brokersUsPerRecord).toBeUndefined()
    expect(cpuPerRecord(0, { user: 5, system: 0 }, [], []).clientUsPerRecord).toBe(0)
  })
})
