import { describe, expect, test } from 'vitest'
import { ByteBudget } from './byte-budget.js'

describe('ByteBudget', () => {
  test('takes what fits, refuses what does not, counts forced bytes, and never goes below zero', () => {
    const budget = new ByteBudget(100)
    expect(budget.tryTake(60)).toBe(true)
    expect(budget.tryTake(41)).toBe(false)
    expect(budget.usedBytes).toBe(60)
    expect(budget.tryTake(40)).toBe(true)
    budget.force(10)
    expect(budget.usedBytes).toBe(110)
    expect(budget.tryTake(1)).toBe(false)
    expect(budget.tryTake(0)).toBe(true)
    budget.release(110)
    budget.release(5)
    expect(budget.usedBytes).toBe(0)
  })
})
