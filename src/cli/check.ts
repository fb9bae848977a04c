import { boundBudget, type LogChecker, type TimeBound } from '../client/index.ts'
import { evaluate, FactIndex, gatherForVerdict, type Explanation, type Fact, type Policy, type StatementSource } from '../policy/index.ts'
import { relayCheckSource, type CheckSource } from './check-source.ts'
import type { Locked } from './lockfile.ts'
import { withWitnessedTimes } from './witnessed-time.ts'

/**
 * Judging a whole lockfile: the one gatherer and engine per package (src/policy) over a source
 * that already holds what they will ask (src/cli/check-source.ts): the relays read in a handful
 * of bulk requests, or an offline bundle.
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
function sameForm<F extends Fact>(facts: readonly F[], digest: string, subject: string): F[] {
  const alg = algOf(digest)
  return facts.filter((f) => {
    const s = f.statement
    if (s.subject !== subject || (s.claim !== 'source' && s.claim !== 'published') || !s.object) return true
    return algOf(s.object) === alg
  })
}

/**
 * The source as one package's gatherer sees it: other forms set aside before the gatherer's own
 * early verdict, so that it goes on to read the builds of the source it will accept.
 */
const forPackage =
  (read: StatementSource, l: Locked): StatementSource =>
  async (filter, limit) => {
    const r = await read(filter, limit)
    return filter.subject === l.subject ? { statements: sameForm(r.statements, l.digest!, l.subject), truncated: r.truncated } : r
  }

/**
 * Judges every locked package over `source`, `concurrency` at a time (default 16: the source
 * answers from memory, and more in flight only keeps more garbage alive; measured, all 1,500 at
 * once took twice as long).
 */
export async function judgeLocked(
  source: CheckSource,
  locked: Locked[],
  policy: Policy,
  o: { now?: number; concurrency?: number; log?: LogChecker; keepBounds?: Map<string, TimeBound>; bounds?: ReadonlyMap<string, { at: number; by: string[] }> } = {},
): Promise<CheckRun> {
  const now = o.now ?? Date.now()
  const judge = async (l: Locked): Promise<PackageResult> => {
    if (l.digest === undefined) return { ...l, outcome: 'unpinned', rule: 'lockfile', reason: 'the lockfile pins no digest for it' }
    const g = await gatherForVerdict(forPackage(source.read, l), l.subject, policy, { concurrency: 4, now })
    // A bundle has no log to ask: the witnessed times it carries were proven offline (./bundle-bounds.ts); a statement without one does not count under "witnessed".
    const { facts, bounds } = o.bounds ? { facts: withBounds(g.facts, o.bounds), bounds: undefined } : await withWitnessedTimes(o.log, policy, l.subject, g)
    for (const [id, b] of bounds ?? []) o.keepBounds?.set(id, b)
    // The gatherer's facts about this subject came through forPackage, already of one form, so
    // its own verdict (when it saw every fact) is the one over the same-form facts, unless
    // witnessed times were added to them since.
    const v = (facts === g.facts && g.verdict) || evaluate(new FactIndex(sameForm(facts, l.digest, l.subject)), policy, l.subject, { now: g.now, proofs: g.proofs })
    return { ...l, ...outcomeOf(l, v) }
  }
  const results: PackageResult[] = new Array(locked.length)
  let next = 0
  const worker = async () => {
    while (next < locked.length) {
      const i = next++
      results[i] = await judge(locked[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(o.concurrency ?? 16, locked.length) }, worker))
  // A relay that spent the command's time-bound budget is named once here, not in every package's verdict.
  return { results, requests: source.requests(), statements: source.used().length, problems: [...source.problems(), ...(o.log ? boundBudget(o.log).problems() : [])] }
}

/** Facts with the witnessed times a bundle proved (only under revocation "witnessed" does the engine read them). */
const withBounds = (facts: Fact[], bounds: ReadonlyMap<string, { at: number; by: string[] }>): Fact[] =>
  facts.map((f) => (bounds.has(f.id) ? { ...f, witnessedAt: bounds.get(f.id)!.at, witnessedBy: bounds.get(f.id)!.by } : f))

export async function checkLocked(relays: string[], locked: Locked[], policy: Policy, o: { timeoutMs?: number; log?: LogChecker; keepBounds?: Map<string, TimeBound> } = {}): Promise<CheckRun & { source: CheckSource }> {
  const source = await relayCheckSource(
    relays,
    locked.filter((l) => l.digest !== undefined).map((l) => l.subject),
    o,
  )
  return { ...(await judgeLocked(source, locked, policy, { log: o.log, keepBounds: o.keepBounds })), source }
}
