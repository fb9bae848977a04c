import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { ingest } from '../../src/store/ingest.ts'
import { admitted, forgetAdmitted, loadAdmitGrants } from '../../src/store/admission.ts'
import { addUsage, dayOf, pruneUsage, usageOf } from '../../src/store/usage.ts'
import { signStatement, type Json } from '../../src/verify/index.ts'
import { testKey } from '../helpers.ts'

const NOW = 1_777_895_712_055 + 1000
type Key = Awaited<ReturnType<typeof testKey>>
const admit = (by: Key, to: string, time: number) =>
  signStatement({ v: 1, actor: by.did, subject: to, claim: 'admit', time }, by.secretKey)
const rowsWritten = async (sql: string, ...binds: unknown[]) => (await env.DB.prepare(sql).bind(...binds).run()).meta.rows_written

describe('usage ledger', () => {
  it('adds per actor and day, one row per actor, and reads it back', async () => {
    const day = dayOf(NOW)
    await addUsage(env.DB, new Map([['a', { statements: 3 }], ['b', { bytes: 10 }]]), day)
    await addUsage(env.DB, new Map([['a', { statements: 2, bytes: 5 }]]), day)
    const u = await usageOf(env.DB, ['a', 'b', 'c'], day)
    expect(u.get('a')).toEqual({ statements: 5, bytes: 5 })
    expect(u.get('b')).toEqual({ statements: 0, bytes: 10 })
    expect(u.has('c')).toBe(false)
    expect((await usageOf(env.DB, ['a'], day + 1)).size).toBe(0)
    await pruneUsage(env.DB, day + 1)
    expect((await usageOf(env.DB, ['a', 'b'], day)).size).toBe(0)
  })

  it('an upsert of ten actors writes ten rows', async () => {
    const rows = JSON.stringify([...Array(10)].map((_, i) => [`actor${i}`, 10, 0]))
    await addUsage(env.DB, new Map([...Array(10)].map((_, i) => [`actor${i}`, { statements: 10 }])), 5)
    const written = await rowsWritten(
      `INSERT INTO usage (actor, day, statements, bytes) SELECT j.value ->> '$[0]', 5, j.value ->> '$[1]', j.value ->> '$[2]' FROM json_each(?1) AS j WHERE true
       ON CONFLICT (actor, day) DO UPDATE SET statements = statements + excluded.statements, bytes = bytes + excluded.bytes`,
      rows,
    )
    expect(written).toBe(10)
    expect((await usageOf(env.DB, ['actor3'], 5)).get('actor3')!.statements).toBe(20)
  })
})

describe('admission grants in the store', () => {
  it('reads grants level by level from the roots and judges them', async () => {
    const [op, a, b, c, stranger] = (await Promise.all([1, 2, 3, 4, 5].map(testKey))) as [Key, Key, Key, Key, Key]
    const grants = [
      await admit(op, a.did, NOW - 5000),
      await admit(a, b.did, NOW - 4000),
      await admit(b, c.did, NOW - 3000),
      await admit(stranger, stranger.did, NOW - 3000),
    ]
    const gate = { admission: 'open', operatorKeys: [], admitDepth: 2, quotaStatementsPerDay: 100, peerStatementsPerDay: 100 } as const
    const r = await ingest(env.DB, grants as unknown as Json[], { now: NOW, origin: { kind: 'client' }, gate })
    expect(r.accepted).toBe(4)
    expect((await loadAdmitGrants(env.DB, [op.did], 2)).map((f) => f.statement.actor)).toEqual([op.did, a.did])
    forgetAdmitted()
    const set = await admitted(env.DB, [op.did], 2, NOW)
    expect([...set].sort()).toEqual([op.did, a.did, b.did].sort())
    expect(set.has(stranger.did)).toBe(false)
  })
})
