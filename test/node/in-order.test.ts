import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { mapInOrder, settleInOrder } from '../../src/client/index.ts'

describe('settleInOrder / mapInOrder: several at once, answers in input order', () => {
  it('property: every outcome in input order, never more than inFlight running, the first failure by position thrown', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ delay: fc.nat(3), fails: fc.boolean() }), { maxLength: 30 }), fc.integer({ min: 1, max: 10 }), async (items, inFlight) => {
        let running = 0
        let most = 0
        const task = async (x: { delay: number; fails: boolean }, i: number) => {
          most = Math.max(most, ++running)
          for (let k = 0; k < x.delay; k++) await new Promise((r) => setTimeout(r, 0))
          running--
          if (x.fails) throw new Error(`item ${i}`)
          return i
        }
        const settled = await settleInOrder(items, task, inFlight)
        expect(most).toBeLessThanOrEqual(inFlight)
        expect(settled.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(items.map((x, i) => (x.fails ? `item ${i}` : i)))
        const first = items.findIndex((x) => x.fails)
        if (first < 0) expect(await mapInOrder(items, task, inFlight)).toEqual(items.map((_, i) => i))
        else await expect(mapInOrder(items, task, inFlight)).rejects.toThrow(`item ${first}`)
      }),
      { numRuns: 100 },
    )
  })
})
