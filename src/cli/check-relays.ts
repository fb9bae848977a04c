import { ClientError, query, type BulkResult, type LogChecker, type QueriedStatement, type QueryReport, type RelayProblem } from '../client/index.ts'
import type { StatementFilter } from '../policy/index.ts'

/**
 * What one relay can make a `vouch check` cost (docs/SECURITY.md): the other relays it can make
 * the command ask, and the time it can make the command wait. Both are bounded per relay for the
 * whole command, not per question, and the relay that hit a bound is named once.
 */

/**
 * Distinct hashes one relay's version claims about one locked version may add to the hash round
 * (builds and reviews, read from every relay). An honest relay names one to three (a bridge's
 * tarball hash, an author's source hash); a relay minting claims names as many as it likes, and
 * each would be one more term asked of every honest relay. A hash left out is still asked per
 * package when the policy accepts it, so the cut costs time, never a verdict.
 */
export const HASHES_PER_VERSION = 4

/**
 * The hashes the version claims name, at most HASHES_PER_VERSION per relay and locked version:
 * a hash counts for every relay that served a claim naming it, so a hostile relay's inventions
 * cannot push out the hashes an honest relay names. `cut` is, per relay, the hashes only its
 * answers named beyond that bound.
 */
export function namedHashes(statements: readonly QueriedStatement[]): { named: string[]; cut: Map<string, number> } {
  const kept = new Map<string, Map<string, Set<string>>>()
  const beyond = new Map<string, Set<string>>()
  const named = new Set<string>()
  for (const s of statements) {
    const st = s.statement
    if ((st.claim !== 'source' && st.claim !== 'published') || st.object === undefined) continue
    for (const relay of s.relays) {
      const bySubject = kept.get(relay) ?? kept.set(relay, new Map()).get(relay)!
      const hashes = bySubject.get(st.subject) ?? bySubject.set(st.subject, new Set()).get(st.subject)!
      if (hashes.has(st.object)) continue
      if (hashes.size < HASHES_PER_VERSION) {
        hashes.add(st.object)
        named.add(st.object)
      } else (beyond.get(relay) ?? beyond.set(relay, new Set()).get(relay)!).add(st.object)
    }
  }
  const cut = new Map<string, number>()
  for (const [relay, hashes] of beyond) {
    const n = [...hashes].filter((h) => !named.has(h)).length
    if (n) cut.set(relay, n)
  }
  return { named: [...named], cut }
}

/** Problems after which a relay is not asked again in this command: it stalled, or what it sent could not be read at all. */
const SICK = new Set(['timeout', 'too_large', 'malformed_answer', 'bad_answer'])
export const isSick = (p: RelayProblem | undefined) => p !== undefined && SICK.has(p.code)

/**
 * The relays of one command and how they behaved. A relay that timed out or answered garbage
 * once is skipped by every later question of the command: otherwise each per-package question
 * waits a full timeout on it again. Its first problem is reported once, with the number of
 * questions it was then not asked.
 */
export class RelayHealth {
  private readonly sick = new Map<string, { message: string; skipped: number }>()
  private readonly other = new Map<string, string>()

  constructor(readonly relays: readonly string[]) {}

  /** Takes note of every relay's report of a round. */
  note(reports: readonly { relay: string; problem?: RelayProblem }[]): void {
    for (const r of reports) {
      if (!r.problem) continue
      if (isSick(r.problem) && !this.sick.has(r.relay)) this.sick.set(r.relay, { message: r.problem.message, skipped: 0 })
      else if (!this.sick.has(r.relay)) this.other.set(`${r.relay}\n${r.problem.message}`, r.problem.message)
    }
  }

  /** The relays to ask a question now; those skipped are counted. */
  ask(): string[] {
    const out: string[] = []
    for (const r of this.relays) {
      const s = this.sick.get(r)
      if (s) s.skipped++
      else out.push(r)
    }
    return out
  }

  problems(): string[] {
    const sick = [...this.sick.values()].map((s) => (s.skipped ? `${s.message}; not asked again in this command (${s.skipped} later question${s.skipped === 1 ? '' : 's'} skipped)` : s.message))
    return [...sick, ...this.other.values()]
  }
}

/** Per-package questions of a check, each one `query` to the relays still worth asking. */
export function healthyQuery(health: RelayHealth, o: { timeoutMs?: number; log?: LogChecker }) {
  return async (filter: StatementFilter, limit: number): Promise<{ statements: QueriedStatement[]; truncated: boolean }> => {
    const relays = health.ask()
    // Every relay is skipped: nothing can be read, and the gatherer must not take that for a complete answer.
    if (!relays.length) return { statements: [], truncated: true }
    let reports: readonly QueryReport[] = []
    try {
      const r = await query(relays, filter, { limit, timeoutMs: o.timeoutMs, log: o.log })
      reports = r.relays
      return { statements: r.statements, truncated: r.relays.some((x) => x.truncated) }
    } catch (e) {
      if (e instanceof ClientError) reports = e.reports as QueryReport[]
      throw e
    } finally {
      health.note(reports)
    }
  }
}

/** The reports of the bulk rounds that ran. */
export const bulkReports = (...rounds: (BulkResult | undefined)[]) => rounds.flatMap((r) => r?.relays ?? [])
