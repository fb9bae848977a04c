import { bulkQuery, querySource, type QueriedStatement } from '../client/index.ts'
import { evaluate, FactIndex, gatherForVerdict, type Explanation, type Policy, type StatementSource } from '../policy/index.ts'
import type { Locked } from './lockfile.ts'

/**
 * Judging a whole lockfile: one bulk read of every locked version's `source` and `published`
 * claims, then the one gatherer and engine per package (src/policy), with subject reads answered
 * from the bulk result and only the rest (author grants, builds) asked of the relays.
 */

export type Outcome = 'verified' | 'no trusted claim' | 'hash differs' | 'yanked' | 'conflict' | 'unpinned'

export interface PackageResult {
  path: string
  subject: string
  digest: string | undefined
  outcome: Outcome
  /** The accepted hash in the locked digest's algorithm, when there is one. */
  accepted?: string
  /** The rule that decided a failure (docs/POLICY.md), and what it says. */
  rule?: string
  reason?: string
}

export interface CheckRun {
  results: PackageResult[]
  requests: { bulk: number; other: number }
  statements: number
  problems: string[]
}

const algOf = (sri: string) => sri.slice(0, sri.indexOf('-'))

/** The first failing rule, depth first: what decided a verdict that is not "trusted". */
function firstFailure(e: Explanation): Explanation | undefined {
  for (const c of e.children ?? []) {
    const f = firstFailure(c)
    if (f) return f
  }
  return e.ok ? undefined : e
}

function outcomeOf(locked: Locked, v: ReturnType<typeof evaluate>): Omit<PackageResult, 'path' | 'subject' | 'digest'> {
  const fail = firstFailure(v.explanation)
  const decided = fail && { rule: fail.rule, reason: fail.text }
  if (v.verdict === 'conflict') return { outcome: 'conflict', ...decided }
  if (v.source !== undefined && v.source !== locked.digest) return { outcome: 'hash differs', accepted: v.source, rule: 'source', reason: `the policy accepts ${v.source}; the lockfile pins ${locked.digest}` }
  if (v.verdict === 'trusted' && v.source === locked.digest) return { outcome: 'verified', accepted: v.source }
  if (v.yanked.includes(locked.digest!)) return { outcome: 'yanked', rule: 'yank', reason: `a key the policy counts says ${v.subject} IS NOT ${locked.digest}` }
  return { outcome: 'no trusted claim', ...decided }
}

/**
 * Claims in another algorithm than the locked digest's are another form of the version (a
 * bridge's sha512 tarball beside an author's NAR sha256), not a second answer: they are set aside
 * before the engine runs, so they neither confirm the locked digest nor conflict with it
 * (docs/POLICY.md, "Lockfiles").
 */
function sameForm(facts: readonly QueriedStatement[] | readonly import('../policy/index.ts').Fact[], digest: string, subject: string) {
  const alg = algOf(digest)
  return facts.filter((f) => {
    const s = f.statement
    if (s.subject !== subject || (s.claim !== 'source' && s.claim !== 'published') || !s.object) return true
    return algOf(s.object) === alg
  })
}

export async function checkLocked(relays: string[], locked: Locked[], policy: Policy, o: { timeoutMs?: number; concurrency?: number } = {}): Promise<CheckRun> {
  const pinned = locked.filter((l) => l.digest !== undefined)
  const bulk = await bulkQuery(relays, pinned.map((l) => l.subject), { claims: ['source', 'published'], timeoutMs: o.timeoutMs })
  const bySubject = new Map<string, QueriedStatement[]>()
  for (const s of bulk.statements) (bySubject.get(s.statement.subject) ?? bySubject.set(s.statement.subject, []).get(s.statement.subject)!).push(s)
  const live = querySource(relays, { timeoutMs: o.timeoutMs })
  let other = 0
  // Reads of a locked version's claims come from the bulk answer when it was complete for it.
  const read: StatementSource = async (filter, limit) => {
    const keys = Object.keys(filter)
    const fromBulk = filter.subject !== undefined && (filter.claim === 'source' || filter.claim === 'published') && keys.every((k) => ['subject', 'claim', 'actor'].includes(k))
    if (fromBulk && !bulk.truncated.has(filter.subject!)) {
      const hits = (bySubject.get(filter.subject!) ?? []).filter((s) => s.statement.claim === filter.claim && (filter.actor === undefined || s.statement.actor === filter.actor))
      return { statements: hits.slice(0, limit), truncated: hits.length > limit }
    }
    other++
    return live.read(filter, limit)
  }
  const results: PackageResult[] = new Array(locked.length)
  let next = 0
  const worker = async () => {
    while (next < locked.length) {
      const i = next++
      const l = locked[i]!
      if (l.digest === undefined) {
        results[i] = { ...l, outcome: 'unpinned', rule: 'lockfile', reason: 'the lockfile pins no digest for it' }
        continue
      }
      const g = await gatherForVerdict(read, l.subject, policy, { concurrency: 4 })
      const v = evaluate(new FactIndex(sameForm(g.facts, l.digest, l.subject)), policy, l.subject, { now: g.now, proofs: g.proofs })
      results[i] = { ...l, ...outcomeOf(l, v) }
    }
  }
  await Promise.all(Array.from({ length: o.concurrency ?? 16 }, worker))
  const problems = [...bulk.relays.flatMap((r) => (r.problem ? [r.problem.message] : [])), ...live.problems().flatMap((r) => (r.problem ? [r.problem.message] : []))]
  return { results, requests: { bulk: bulk.relays.reduce((n, r) => n + r.requests, 0), other }, statements: bulk.statements.length, problems: [...new Set(problems)] }
}
