import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { RelayEnv } from '../../src/config.ts'
import worker from '../../src/index.ts'
import { base64url, parseTilePath, tilePath } from '../../src/verify/index.ts'

/**
 * Odd tile paths from anonymous readers (PROTOCOL §6.10): each is a 400 JSON or a 404 decided from
 * the path alone or one bounded read, never a scan, a 5xx, or a second spelling of a tile.
 */
const RELAY_KEY = base64url.encode(new Uint8Array(32).fill(7))

async function call(path: string): Promise<Response> {
  const ctx = createExecutionContext()
  const res = await worker.fetch(new Request(`http://relay.test${path}`), { ...(env as unknown as RelayEnv), RELAY_KEY } as RelayEnv, ctx)
  await waitOnExecutionContext(ctx)
  return res
}
const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code

describe('tile paths a hostile reader sends', () => {
  it('refuses non-canonical and impossible paths with 400 bad_tile_path, before any storage is read', async () => {
    const bad = [
      'tile/64/000', // level 64
      'tile/6/000', // past the last level a safe-integer log can have
      'tile/0/0001', // a leading zero
      'tile/0/01', // too short a group
      'tile/0/x001', // a prefixed last group
      'tile/0/x000/000', // a leading zero group
      'tile/0/x999/x999/x999/x999/x999/x999/999', // an index past 2^53
      'tile/0/000.p/', // no width
      'tile/0/000.p/1000', // a width past 255
      'tile/0/000.p/-1',
      'tile/entries/000.p/0',
      'tile/entries/000.p/256',
      'tile/0/000/', // a trailing slash
      'tile/0/000?x=1'.replace('?', '%3F'),
      'tile/0/%30%30%30', // percent-encoded digits
      'tile/+0/000',
      'tile/0/1e3',
    ]
    for (const path of bad) {
      const res = await call(`/v1/log/${path}`)
      expect([res.status, await codeOf(res)], path).toEqual([400, 'bad_tile_path'])
    }
  })

  it('answers tiles and bundles past the log (far past it too) with 404 no_tile', async () => {
    for (const path of ['tile/entries/000.p/1', 'tile/entries/x001/x234/067', 'tile/5/000.p/1', 'tile/0/x009/x007/x199/x254/x740/991']) {
      const res = await call(`/v1/log/${path}`)
      expect([res.status, await codeOf(res)], path).toEqual([404, 'no_tile'])
    }
  })

  it('property: a path is accepted only in the one spelling tilePath writes for it', () => {
    const segment = fc.oneof(fc.constantFrom('tile', 'entries', 'x', '.p', '0', '00', '000', '001', '255', '256', 'x000', 'x001', '999', '9', '6', '5'), fc.string({ maxLength: 4 }))
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 9 }), (parts) => {
        const path = parts.join('/')
        const t = parseTilePath(path)
        if (t) expect(tilePath(t)).toBe(path)
      }),
      { numRuns: 3000 },
    )
  })
})
