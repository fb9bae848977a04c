import { bulkQuery, type BulkResult, type LogChecker } from '../client/index.ts'
import { GIT_CLAIMS, packageOf, type StatementFilter, type StatementSource } from '../policy/index.ts'
import type { VerifiedStatement } from '../verify/index.ts'
import { bulkReports, HASHES_PER_VERSION, healthyQuery, namedHashes, RelayHealth } from './check-relays.ts'

/**
 * Where `vouch check` reads statements from: the relays, asked in a handful of bulk requests for
 * a whole lockfile, or an offline bundle. Either way the one gatherer (src/policy/gather.ts) asks
 * its usual per-package questions, and this source answers them from statements it already has.
 */

/** Claims about a locked version that the gatherer reads by subject: prefetched for every package. */
export const VERSION_CLAIMS = ['source', 'published', ...Object.keys(GIT_CLAIMS)]
/** Claims about an accepted source hash (step 3 of the gatherer): read in bulk for every hash a version claim names. */
const HASH_CLAIMS = ['build', 'review']

export interface CheckSource {
  read: StatementSource
  /** Requests made to relays: bulk ones and single queries. */
  requests: () => { bulk: number; other: number }
  /** Every statement handed to the gatherer, de-duplicated: what a bundle must hold to repeat the check. */
  used: () => VerifiedStatement[]
  problems: () => string[]
}

/** Statements indexed by subject and by object, answering a gatherer's filter exactly. */
export class MemoryIndex {
  private readonly bySubject = new Map<string, VerifiedStatement[]>()
  private readonly byObject = new Map<string, VerifiedStatement[]>()
  private readonly byActor = new Map<string, VerifiedStatement[]>()
  /**
   * By actor and claim: the gatherer asks every package's trusted-builder walk from the policy's
   * roots, and a root's statements are mostly other grants (its author grants, one per package).
   */
  private readonly byActorClaim = new Map<string, VerifiedStatement[]>()
  private readonly ids = new Set<string>()

  add(list: Iterable<VerifiedStatement>): void {
    for (const s of list) {
      if (this.ids.has(s.id)) continue
      this.ids.add(s.id)
      push(this.bySubject, s.statement.subject, s)
      if (s.statement.object !== undefined) push(this.byObject, s.statement.object, s)
      push(this.byActor, s.statement.actor, s)
      push(this.byActorClaim, `${s.statement.actor} ${s.statement.claim}`, s)
    }
  }

  /** Every statement matching every field of `filter` (which names a subject, object or actor). */
  find(f: StatementFilter): VerifiedStatement[] {
    const byActor = f.actor === undefined ? undefined : f.claim !== undefined ? this.byActorClaim.get(`${f.actor} ${f.claim}`) : this.byActor.get(f.actor)
    const base = f.subject !== undefined ? this.bySubject.get(f.subject) : f.object !== undefined ? this.byObject.get(f.object) : f.actor !== undefined ? byActor : undefined
    if (base === undefined) return []
    return base.filter((s) => (f.subject === undefined || s.statement.subject === f.subject) && (f.claim === undefined || s.statement.claim === f.claim) && (f.object === undefined || s.statement.object === f.object) && (f.actor === undefined || s.statement.actor === f.actor))
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V) {
  const list = m.get(k)
  if (list) list.push(v)
  else m.set(k, [v])
}

const only = (f: StatementFilter, allowed: string[]) => Object.keys(f).every((k) => allowed.includes(k))

/** Records what was handed out, for `used()`. */
function recorder() {
  const used = new Map<string, VerifiedStatement>()
  return {
    give(list: VerifiedStatement[], limit: number) {
      const statements = list.slice(0, limit)
      for (const s of statements) used.set(s.id, { id: s.id, statement: s.statement, canonical: s.canonical })
      return { statements, truncated: list.length > limit }
    },
    used: () => [...used.values()],
  }
}

/**
 * The relays as a check's source. Before any package is judged, bulk reads (PROTOCOL §6.4b) fetch
 * every locked version's claims by subject and every package's `author` grants by object, then
 * the builds and reviews of every hash those version claims name (the only hashes the policy can
 * accept); the gatherer's reads are answered from them. Any other question (alias claims, the
 * trusted-builder graph) is the same for every package and is asked once. What a bulk read could
 * not finish (a page limit) is asked per package, as the gatherer would anyway.
 */
export async function relayCheckSource(relays: string[], subjects: readonly string[], o: { timeoutMs?: number; log?: LogChecker } = {}): Promise<CheckSource> {
  const pkgs = [...new Set(subjects.map((s) => packageOf(s)?.pkg).filter((p): p is string => p !== undefined))]
  const bulkOf = (r: BulkResult | undefined) => r?.relays.reduce((m, x) => m + x.requests, 0) ?? 0
  const health = new RelayHealth(relays)
  // Builds and reviews can only matter for a hash some version claim names: read them as soon as
  // the version claims are in, beside the author grants. One relay's answers add at most
  // HASHES_PER_VERSION hashes a version to what every relay is asked (./check-relays.ts).
  const versionsThenHashes = bulkQuery(relays, subjects, { claims: VERSION_CLAIMS, timeoutMs: o.timeoutMs, log: o.log }).then(async (versions) => {
    const { named, cut } = namedHashes(versions.statements)
    // A relay that let the first round time out (already reported) would make this one wait as long again.
    health.note(versions.relays)
    const ask = health.ask()
    return { versions, hashes: named.length && ask.length ? await bulkQuery(ask, named, { claims: HASH_CLAIMS, timeoutMs: o.timeoutMs, log: o.log }) : undefined, named, cut }
  })
  const [{ versions, hashes, named, cut }, grants] = await Promise.all([
    versionsThenHashes,
    pkgs.length ? bulkQuery(relays, [], { objects: pkgs, claims: ['author'], timeoutMs: o.timeoutMs, log: o.log }) : undefined,
  ])
  health.note(bulkReports(grants, hashes))
  const index = new MemoryIndex()
  for (const r of [versions, grants, hashes]) if (r) index.add(r.statements)
  const prefetched = new Set(subjects.filter((s) => !versions.truncated.has(s)))
  const prefetchedPkgs = new Set(pkgs.filter((p) => !grants?.truncatedObjects.has(p)))
  const prefetchedHashes = new Set(named.filter((h) => !hashes?.truncated.has(h)))
  const bulk = bulkOf(versions) + bulkOf(grants) + bulkOf(hashes)
  const cutLines = [...cut].map(([relay, n]) => `${relay}'s version claims named ${n} more hash${n === 1 ? '' : 'es'} than ${HASHES_PER_VERSION} a version; the other relays were not asked about them ahead of the verdicts (a hash the policy accepts is still asked)`)

  const live = healthyQuery(health, { timeoutMs: o.timeoutMs, log: o.log })
  let other = 0
  const memo = new Map<string, ReturnType<typeof live>>()
  const ask = (filter: StatementFilter, limit: number) => {
    const key = JSON.stringify([filter.subject, filter.claim, filter.object, filter.actor, limit])
    let p = memo.get(key)
    if (!p) {
      other++
      memo.set(key, (p = live(filter, limit)))
    }
    return p
  }

  const rec = recorder()
  const read: StatementSource = async (filter, limit) => {
    const c = filter.claim ?? ''
    if (filter.subject !== undefined && VERSION_CLAIMS.includes(c) && only(filter, ['subject', 'claim', 'actor']) && prefetched.has(filter.subject)) return rec.give(index.find(filter), limit)
    if (filter.object !== undefined && c === 'author' && only(filter, ['object', 'claim', 'actor']) && prefetchedPkgs.has(filter.object)) return rec.give(index.find(filter), limit)
    if (filter.subject !== undefined && HASH_CLAIMS.includes(c) && only(filter, ['subject', 'claim', 'actor']) && prefetchedHashes.has(filter.subject)) return rec.give(index.find(filter), limit)
    const r = await ask(filter, limit)
    return { truncated: r.truncated, statements: rec.give(r.statements, limit).statements }
  }
  return {
    read,
    requests: () => ({ bulk, other }),
    used: rec.used,
    problems: () => [...health.problems(), ...cutLines],
  }
}

/** Statements already verified (an offline bundle's) as a check's source: no network at all. */
export function memoryCheckSource(statements: readonly VerifiedStatement[]): CheckSource {
  const index = new MemoryIndex()
  index.add(statements)
  const rec = recorder()
  return {
    read: async (filter, limit) => rec.give(index.find(filter), limit),
    requests: () => ({ bulk: 0, other: 0 }),
    used: rec.used,
    problems: () => [],
  }
}
