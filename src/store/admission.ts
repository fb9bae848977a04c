import { ADMIT_CLAIM, admittedKeys, type Fact } from '../policy/index.ts'
import type { Statement } from '../verify/index.ts'
import { fillAll, type RawRow } from './bodies.ts'
import { byClaimAndActors } from './sharded.ts'
import { shardsOf } from './shards.ts'
import { BODY } from './statements.ts'

/** At most this many admission grants are read to decide who is admitted (a bound on one decision). */
export const ADMIT_GRANTS_MAX = 10_000
/** How long an isolate reuses the admitted set before reading the grants again. */
export const ADMIT_CACHE_MS = 30_000

/**
 * Reads the `admit` grants reachable from `roots`, one indexed query per level (by actor), at most
 * `maxDepth` levels and `ADMIT_GRANTS_MAX` grants. Revocations come with them: they are `admit`
 * statements by the same actors.
 */
export async function loadAdmitGrants(db: D1Database, roots: readonly string[], maxDepth: number): Promise<Fact[]> {
  const out: Fact[] = []
  const seen = new Set(roots)
  let frontier = [...roots]
  for (let depth = 1; depth <= maxDepth && frontier.length && out.length < ADMIT_GRANTS_MAX; depth++) {
    const shards = shardsOf(db)
    const { results: raw } = shards
      ? { results: await byClaimAndActors(db, shards, ADMIT_CLAIM, frontier, ADMIT_GRANTS_MAX - out.length) }
      : await db
          .prepare(`SELECT seq, id, ${BODY} FROM statements WHERE claim = ?1 AND actor IN (SELECT value FROM json_each(?2)) ORDER BY seq LIMIT ?3`)
          .bind(ADMIT_CLAIM, JSON.stringify(frontier), ADMIT_GRANTS_MAX - out.length)
          .all<RawRow>()
    // Every grant counts (a missed revocation would admit a revoked key), so the walk is never cut
    // by the page bound; its result is cached per isolate for ADMIT_CACHE_MS.
    const results = await fillAll(db, raw)
    const next: string[] = []
    for (const r of results) {
      const statement = JSON.parse(r.body) as Statement
      out.push({ id: r.id, statement })
      if (!statement.not && !seen.has(statement.subject)) seen.add(statement.subject), next.push(statement.subject)
    }
    frontier = next
  }
  return out
}

const cache = new Map<string, { at: number; keys: Promise<Set<string>> }>()

/**
 * The keys admitted right now, from a per-isolate cache refreshed every `ADMIT_CACHE_MS` (and at
 * once after this isolate stores an `admit` statement: `forgetAdmitted`). A grant made through
 * another isolate takes effect here within the cache period.
 */
export function admitted(db: D1Database, roots: readonly string[], maxDepth: number, now: number): Promise<Set<string>> {
  const k = `${maxDepth} ${[...roots].sort().join(' ')}`
  const hit = cache.get(k)
  if (hit && now - hit.at < ADMIT_CACHE_MS) return hit.keys
  const keys = loadAdmitGrants(db, roots, maxDepth).then((facts) => new Set(admittedKeys(facts, roots, maxDepth, now).keys()))
  keys.catch(() => cache.delete(k))
  cache.set(k, { at: now, keys })
  return keys
}

export const forgetAdmitted = () => cache.clear()
