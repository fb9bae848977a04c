/**
 * Daily usage per actor (statements accepted, blob bytes admitted), the ledger behind the quotas.
 * Counts are read before a write and added after it, in two queries: two concurrent requests from
 * one actor can together pass the quota by at most one request's worth, which bounds the overshoot
 * without serialising every write through one lock.
 */

export const dayOf = (ms: number) => Math.floor(ms / 86_400_000)

export interface Usage {
  statements: number
  bytes: number
}

/** Today's usage of each actor (absent actors have used nothing). One query. */
export async function usageOf(db: D1Database, actors: readonly string[], day: number): Promise<Map<string, Usage>> {
  const out = new Map<string, Usage>()
  if (!actors.length) return out
  const { results } = await db
    .prepare('SELECT actor, statements, bytes FROM usage WHERE day = ?1 AND actor IN (SELECT value FROM json_each(?2))')
    .bind(day, JSON.stringify([...new Set(actors)]))
    .all<{ actor: string } & Usage>()
  for (const r of results) out.set(r.actor, { statements: r.statements, bytes: r.bytes })
  return out
}

/** Adds to today's usage: one upserted row per actor, in one query. */
export async function addUsage(db: D1Database, add: ReadonlyMap<string, Partial<Usage>>, day: number): Promise<void> {
  const rows = [...add].map(([actor, u]) => [actor, u.statements ?? 0, u.bytes ?? 0]).filter(([, s, b]) => s || b)
  if (!rows.length) return
  await db
    .prepare(
      `INSERT INTO usage (actor, day, statements, bytes)
       SELECT j.value ->> '$[0]', ?1, j.value ->> '$[1]', j.value ->> '$[2]' FROM json_each(?2) AS j WHERE true
       ON CONFLICT (actor, day) DO UPDATE SET statements = statements + excluded.statements, bytes = bytes + excluded.bytes`,
    )
    .bind(day, JSON.stringify(rows))
    .run()
}

/** Drops the ledger of days before `keepFrom` (the cron calls it; quotas only read today). */
export async function pruneUsage(db: D1Database, keepFrom: number): Promise<void> {
  await db.prepare('DELETE FROM usage WHERE day < ?1').bind(keepFrom).run()
}
