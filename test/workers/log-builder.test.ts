import { env } from 'cloudflare:test'
import { expect, it } from 'vitest'
import { LogBuilder, frame, unframe, type R2Object } from '../../bench/lib/log-builder.ts'
import type { RelayEnv } from '../../src/config.ts'
import { integrate } from '../../src/log/index.ts'
import { insertStatements } from '../../src/store/statements.ts'
import { formatSri, sha256, utf8, type VerifiedStatement } from '../../src/verify/index.ts'

/**
 * The scale benchmark writes the log's R2 objects itself (bench/lib/log-builder.ts) instead of
 * running the relay's integration over local R2 (hours at 10M). Honest only if they are the same
 * objects: the relay's own ingest and integrate() on a real D1 and R2 against the builder fed the
 * same bodies in arrival order, key for key and byte for byte, and the bodies integration leaves
 * in D1 are the builder's tail.
 */
it('writes exactly the objects the relay integration writes', async () => {
  const n = 3 * 256 + 37
  const rows = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const statement = { actor: `did:key:b${i % 7}`, subject: `pkg:npm/p${i % 50}@1.0.${i}`, claim: 'published', time: i }
      const canonical = JSON.stringify({ ...statement, pad: 'x'.repeat(i % 300) })
      return { id: formatSri(await sha256(utf8(canonical))), canonical, statement } as unknown as VerifiedStatement
    }),
  )
  for (let i = 0; i < n; i += 100) await insertStatements(env.DB, rows.slice(i, i + 100))
  await integrate(env as unknown as RelayEnv, 100)
  const listed = (await env.BLOBS.list({ prefix: 'log/' })).objects.map((o) => o.key).sort()
  const relay = new Map<string, Uint8Array>()
  for (const key of listed) relay.set(key, new Uint8Array(await (await env.BLOBS.get(key))!.arrayBuffer()))

  const builder = new LogBuilder()
  const built: R2Object[] = []
  for (const r of rows) built.push(...(await builder.add(utf8(r.canonical))))
  built.push(builder.mark())
  // Through the writer's framing too: what reaches R2 is what was built.
  const mine = unframe(frame(built))
  expect(mine.map((o) => o.key).sort()).toEqual(listed)
  for (const o of mine) expect(o.bytes, o.key).toEqual(relay.get(o.key))
  const pending = await env.DB.prepare('SELECT count(*) AS n FROM pending_bodies').first<number>('n')
  expect(builder.tail.length).toBe(37)
  expect(pending).toBe(37)
})
