import { describe, expect, test } from 'vitest'
import { CancellableWaits } from './cancellable-waits.js'

describe('CancellableWaits', () => {
  test('a caller gets its result or its error, and is held only while waiting', async () => {
    const waits = new CancellableWaits()
    await expect(waits.wait(Promise.resolve(7))).resolves.toBe(7)
    await expect(waits.wait(Promise.reject(new Error('failed')))).rejects.toThrow('failed')
    expect(waits.size).toBe(0)
  })

  test('many settled waits leave nothing behind (the controller waits once per decision, for days)', async () => {
    const waits = new CancellableWaits()
    for (let i = 0; i < 10_000; i++) await waits.wait(Promise.resolve(i))
    expect(waits.size).toBe(0)
  })

  test('cancelAll fails every caller waiting now at once, and only those', async () => {
    const waits = new CancellableWaits()
    let finish: (value: string) => void = () => {}
    const pending = new Promise<string>((resolve) => { finish = resolve })
    const first = waits.wait(pending)
    const second = waits.wait(pending)
    expect(waits.size).toBe(2)
    waits.cancelAll(new Error('NOT_CONTROLLER'))
    await expect(first).rejects.toThrow('NOT_CONTROLLER')
    await expect(second).rejects.toThrow('NOT_CONTROLLER')
    expect(waits.size).toBe(0)
    // A caller after the cancel waits for its own result; the work's late result reaches nobody earlier.
    const later = waits.wait(pending)
    finish('done')
    await expect(later).resolves.toBe('done')
    expect(waits.size).toBe(0)
  })
})
