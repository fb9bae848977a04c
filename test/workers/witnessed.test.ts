import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import type { RelayEnv } from '../../src/config.ts'
import worker from '../../src/index.ts'
import { keepWitnessed } from '../../src/log/index.ts'
import { base64url } from '../../src/verify/index.ts'

/** GET /v1/log/witnessed (PROTOCOL §6.13): the latest witnessed checkpoint, and the earliest that includes a leaf. */

const BASE = 'http://relay.test'
const RELAY_KEY = base64url.encode(new Uint8Array(32).fill(7))
const relayEnv = env as unknown as RelayEnv

async function call(path: string, vars: Record<string, string> = { RELAY_KEY }): Promise<Response> {
  const ctx = createExecutionContext()
  const res = await worker.fetch(new Request(`${BASE}${path}`), { ...relayEnv, ...vars } as RelayEnv, ctx)
  await waitOnExecutionContext(ctx)
  return res
}

// The endpoint serves what collection stored; the notes' bytes are opaque to it.
const note = (size: number, lines = 1) => `relay.test/vouch-log\n${size}\nROOT${size}=\n\n— relay.test/vouch-log sig${size}\n${Array.from({ length: lines }, (_, i) => `— w${i} cosig${size}\n`).join('')}`
const rows = async () => (await env.DB.prepare('SELECT size, note FROM witnessed ORDER BY size').all<{ size: number; note: string }>()).results

beforeEach(async () => {
  await env.DB.prepare('DELETE FROM witnessed').run()
})

describe('GET /v1/log/witnessed', () => {
  it('404 not_witnessed before any cosignature, for the latest and for an index', async () => {
    for (const path of ['/v1/log/witnessed', '/v1/log/witnessed?index=0']) {
      const res = await call(path)
      expect(res.status).toBe(404)
      expect(await res.json()).toMatchObject({ error: { code: 'not_witnessed' } })
    }
  })

  it('the latest, and for an index the earliest checkpoint whose tree includes that leaf', async () => {
    for (const size of [3, 10, 7]) await keepWitnessed(env.DB, size, note(size))
    const latest = await call('/v1/log/witnessed')
    expect(latest.status).toBe(200)
    expect(latest.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(await latest.text()).toBe(note(10))
    // Leaf N is in a tree of size > N: leaf 2 is in the tree of 3, leaf 3 is not.
    for (const [index, size] of [[0, 3], [2, 3], [3, 7], [6, 7], [7, 10], [9, 10]] as const) {
      const res = await call(`/v1/log/witnessed?index=${index}`)
      expect(res.status, `index ${index}`).toBe(200)
      expect(res.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/)
      expect(await res.text()).toBe(note(size))
    }
    const beyond = await call('/v1/log/witnessed?index=10')
    expect(beyond.status).toBe(404)
    expect(await beyond.json()).toMatchObject({ error: { code: 'not_witnessed', message: expect.stringContaining('leaf 10') } })
  })

  it('a fuller note for the same size replaces the row; a shorter one does not', async () => {
    await keepWitnessed(env.DB, 5, note(5, 1))
    await keepWitnessed(env.DB, 5, note(5, 2))
    await keepWitnessed(env.DB, 5, note(5, 1))
    expect(await rows()).toEqual([{ size: 5, note: note(5, 2) }])
  })

  it('400 for anything but one canonical non-negative integer index, and nothing is stored', async () => {
    await keepWitnessed(env.DB, 4, note(4))
    const before = await rows()
    for (const q of ['index=', 'index=-1', 'index=01', 'index=1.0', 'index=%201', 'index=1e3', 'index=0x10', 'index=9007199254740992', 'index=99999999999999999', 'index=1&index=2', 'index=abc']) {
      const res = await call(`/v1/log/witnessed?${q}`)
      expect(res.status, q).toBe(400)
      expect(await res.json()).toMatchObject({ error: { code: 'bad_index' } })
    }
    const other = await call('/v1/log/witnessed?size=3')
    expect(other.status).toBe(400)
    expect(await other.json()).toMatchObject({ error: { code: 'bad_query' } })
    expect(await rows()).toEqual(before)
  })

  it('404 no_log on a relay without RELAY_KEY, and the OpenAPI description lists the endpoint', async () => {
    await keepWitnessed(env.DB, 4, note(4))
    const res = await call('/v1/log/witnessed', { RELAY_KEY: '' })
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ error: { code: 'no_log' } })
    const api = (await (await call('/openapi.json')).json()) as { paths: Record<string, unknown> }
    expect(api.paths['/v1/log/witnessed']).toBeDefined()
  })
})
