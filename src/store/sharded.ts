import type { RawRow } from './bodies.ts'
import { acrossShards, bySeq, prefixShard, shardOf, withBodies } from './shards.ts'

/**
 * Queries by term at INDEX_SHARDS = K > 1 (src/store/shards.ts). A query that fixes the subject (or
 * a package prefix) asks one shard; any other asks every shard in parallel for `limit + 1` rows
 * and merges by seq, which is exact because every shard row carries the relay-wide seq: the first
 * `limit + 1` of the merge are among the first `limit + 1` of each shard. Each reads the watermark
 * first (`acrossShards`), then fills bodies from DB's pending_bodies (`withBodies`, for the rows
 * not known to be in a bundle); the callers in statements.ts fill the rest from the R2 bundles as
 * at K = 1. Every query here is one of K = 1's with `AND seq <= W` added, so each keeps its index
 * (test/workers/query-plans.test.ts).
 */

type Seqd = { seq: number; id: string }

export interface RawPage {
  rows: RawRow[]
  next: number | undefined
}

/** `limit + 1` rows per shard merged: the page and its cursor (the last seq when more follow). */
async function page(db: D1Database, rows: Seqd[], limit: number, end?: number): Promise<RawPage> {
  const merged = bySeq(rows, limit + 1)
  const more = merged.length > limit
  const kept = more ? merged.slice(0, limit) : merged
  return { rows: await withBodies(db, kept), next: more ? kept[kept.length - 1]!.seq : end }
}

export async function queryStatements(db: D1Database, shards: D1Database[], filter: { subject?: string; claim?: string; object?: string; actor?: string }, after: number, limit: number, walkSeqs: number): Promise<RawPage> {
  const walkOnly = filter.subject === undefined && filter.object === undefined && filter.actor === undefined
  const walkEnd = after + walkSeqs
  const targets = filter.subject !== undefined ? [await shardOf(filter.subject, shards.length)] : undefined
  let top = 0
  const rows = await acrossShards(db, shards, targets, async (shard, w) => {
    top = w
    // `+seq`: the watermark filters rows the term's index found; it must not tempt the planner onto
    // a range of the primary key (measured: it did, for IN lists). Only the claim walk reads that range.
    const where = ['seq > ?1', walkOnly ? 'seq <= ?2' : '+seq <= ?2']
    const params: (string | number)[] = [after, walkOnly ? Math.min(w, walkEnd) : w]
    for (const field of ['subject', 'claim', 'object', 'actor'] as const) {
      const v = filter[field]
      if (v !== undefined) params.push(v), where.push(`${field} = ?${params.length}`)
    }
    params.push(limit + 1)
    const sql = `SELECT seq, id FROM statements WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?${params.length}`
    return (await shard.prepare(sql).bind(...params).all<Seqd>()).results
  })
  // A bounded walk that stopped at its end while later visible rows exist continues from there.
  return page(db, rows, limit, walkOnly && walkEnd < top ? walkEnd : undefined)
}

/**
 * Statements about `subjects` or with one of `objects` as object: subjects grouped by shard, objects
 * on every shard. INDEXED BY: on a shard's statistics the planner took a range of seq for an IN list
 * (test/workers/sharded.test.ts caught it); each branch's own index is always the right one.
 */
export async function queryByTerms(db: D1Database, shards: D1Database[], subjects: readonly string[], objects: readonly string[], claims: readonly string[] | undefined, after: number, limit: number): Promise<RawPage> {
  const bySubject = new Map<number, string[]>()
  for (const s of new Set(subjects)) {
    const i = await shardOf(s, shards.length)
    bySubject.set(i, [...(bySubject.get(i) ?? []), s])
  }
  const objs = [...new Set(objects)]
  const targets = objs.length ? undefined : [...bySubject.keys()]
  const rows = await acrossShards(db, shards, targets, async (shard, w, i) => {
    const params: (string | number)[] = [after, limit + 1, w]
    const bind = (v: string | number) => `?${params.push(v)}`
    const claimFilter = claims?.length ? ` AND claim IN (SELECT value FROM json_each(${bind(JSON.stringify(claims))}))` : ''
    const branches: string[] = []
    const mine = bySubject.get(i) ?? []
    for (const [field, terms] of [['subject', mine], ['object', objs]] as const) {
      if (terms.length) branches.push(`SELECT seq, id FROM statements INDEXED BY statements_${field} WHERE ${field} IN (SELECT value FROM json_each(${bind(JSON.stringify(terms))})) AND seq > ?1 AND +seq <= ?3${claimFilter}`)
    }
    if (!branches.length) return []
    return (await shard.prepare(`${branches.join(' UNION ')} ORDER BY seq LIMIT ?2`).bind(...params).all<Seqd>()).results
  })
  return page(db, rows, limit)
}

/** The shards a prefix of subjects can be in: one when it fixes the package, else all. */
const prefixTargets = async (prefix: string, k: number) => {
  const one = await prefixShard(prefix, k)
  return one === undefined ? undefined : [one]
}

const bySubjectThenSeq = <T extends { subject: string; seq?: number }>(a: T, b: T) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : (a.seq ?? 0) - (b.seq ?? 0))

export async function subjectsWithPrefix<T extends { subject: string }>(db: D1Database, shards: D1Database[], prefix: string, upper: string, limit: number): Promise<T[]> {
  // A subject lives in one shard, so its count and latest time are whole in that shard's group.
  const rows = await acrossShards(db, shards, await prefixTargets(prefix, shards.length), async (shard, w) =>
    (await shard.prepare('SELECT subject, count(*) AS count, max(time) AS latest FROM statements WHERE subject >= ?1 AND subject < ?2 AND +seq <= ?4 GROUP BY subject ORDER BY subject LIMIT ?3').bind(prefix, upper, limit + 1, w).all<T>()).results,
  )
  return rows.sort(bySubjectThenSeq).slice(0, limit + 1)
}

/** Rows whose subject is in [prefix, upper), by subject then seq, `limit + 1` at most. */
export async function statementsWithPrefix(db: D1Database, shards: D1Database[], prefix: string, upper: string, limit: number): Promise<RawRow[]> {
  const rows = await acrossShards(db, shards, await prefixTargets(prefix, shards.length), async (shard, w) =>
    (await shard.prepare('SELECT seq, id, subject FROM statements WHERE subject >= ?1 AND subject < ?2 AND +seq <= ?4 ORDER BY subject, seq LIMIT ?3').bind(prefix, upper, limit + 1, w).all<Seqd & { subject: string }>()).results,
  )
  return withBodies(db, rows.sort(bySubjectThenSeq).slice(0, limit + 1))
}

/**
 * `claim` statements by any of `actors`, in arrival order, at most `n` (the admission walk: never
 * cut). INDEXED BY: on a shard's statistics the planner walked seq order for `ORDER BY seq LIMIT`
 * (a scan; test/workers/sharded.test.ts caught it), where DB at K = 1 picks the actor index.
 */
export async function byClaimAndActors(db: D1Database, shards: D1Database[], claim: string, actors: readonly string[], n: number): Promise<RawRow[]> {
  const rows = await acrossShards(db, shards, undefined, async (shard, w) =>
    (await shard.prepare('SELECT seq, id FROM statements INDEXED BY statements_actor WHERE claim = ?1 AND actor IN (SELECT value FROM json_each(?2)) AND +seq <= ?4 ORDER BY seq LIMIT ?3').bind(claim, JSON.stringify(actors), n, w).all<Seqd>()).results,
  )
  return withBodies(db, bySeq(rows, n))
}

/** `alias` claims naming any of `aliases` as object, in arrival order, `limit + 1` rows (as names.ts's aliasClaimsQuery). */
export async function aliasClaims(db: D1Database, shards: D1Database[], aliases: readonly string[], limit: number): Promise<RawRow[]> {
  const rows = await acrossShards(db, shards, undefined, async (shard, w) =>
    (await shard.prepare("SELECT seq, id FROM statements WHERE object IN (SELECT value FROM json_each(?1)) AND claim = 'alias' AND +seq <= ?3 ORDER BY seq LIMIT ?2").bind(JSON.stringify(aliases), limit + 1, w).all<Seqd>()).results,
  )
  return withBodies(db, bySeq(rows, limit + 1))
}

/** Statements with this subject and claim (the evidence bound): one shard. */
export async function countBySubjectClaim(db: D1Database, shards: D1Database[], subject: string, claim: string): Promise<number> {
  const counts = await acrossShards(db, shards, [await shardOf(subject, shards.length)], async (shard, w) => [
    (await shard.prepare('SELECT count(*) AS n FROM statements WHERE subject = ?1 AND claim = ?2 AND +seq <= ?3').bind(subject, claim, w).first<number>('n')) ?? 0,
  ])
  return counts[0] ?? 0
}

/**
 * The oldest statement naming `term` as subject or object, across shards (its subject's shard for
 * the subject, every shard for the object); undefined when none.
 */
export async function firstNaming(db: D1Database, shards: D1Database[], term: string): Promise<{ seq: number; actor: string } | undefined> {
  const rows = await acrossShards(db, shards, undefined, async (shard, w) => {
    const r = await shard
      .prepare(
        `SELECT seq, actor FROM (
           SELECT * FROM (SELECT seq, actor FROM statements WHERE subject = ?1 AND +seq <= ?2 ORDER BY seq LIMIT 1)
           UNION ALL SELECT * FROM (SELECT seq, actor FROM statements WHERE object = ?1 AND +seq <= ?2 ORDER BY seq LIMIT 1)
         ) ORDER BY seq LIMIT 1`,
      )
      .bind(term, w)
      .first<{ seq: number; actor: string }>()
    return r ? [r] : []
  })
  return bySeq(rows, 1)[0]
}
