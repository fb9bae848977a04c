import { metaString } from './components.tsx'
import { inForceRows, type Row } from './data.ts'

/**
 * What a package page says about each version, from the statements in force (docs/POLICY.md rule 2)
 * with a source hash (`source`, `published`): each mark keeps the statements behind it, so the page
 * can show why. `trusted` is the explorer's own simple policy: a key the operator trusts (by
 * default the relay's admission roots) claims the one live hash. It is a hint, not a verdict: the
 * trust view applies a real policy.
 */
export interface VersionMarks {
  subject: string
  /** Hashes claimed and not yanked. */
  live: string[]
  /** `source` IS NOT: the hash is yanked for this version. */
  yanks: Row[]
  /** `published` IS NOT: a registry bridge says the version was unpublished (revoked). */
  revokes: Row[]
  /** Bridged deprecations (`published` with meta.deprecated). */
  deprecations: Row[]
  /** More than one live hash: the claims disagree. */
  conflicting: boolean
  /** Claims of the live hash by trusted keys (empty when the claims disagree). */
  trustedBy: Row[]
}

const HASH_CLAIMS = new Set(['source', 'published'])

export function versionMarks(rows: readonly Row[], now: number, trusted: ReadonlySet<string>): Map<string, VersionMarks> {
  const bySubject = new Map<string, Row[]>()
  for (const r of rows) {
    if (!HASH_CLAIMS.has(r.statement.claim) || r.statement.object === undefined) continue
    const list = bySubject.get(r.statement.subject) ?? bySubject.set(r.statement.subject, []).get(r.statement.subject)!
    list.push(r)
  }
  const out = new Map<string, VersionMarks>()
  for (const [subject, list] of bySubject) {
    const current = inForceRows(list, now)
    const pos = current.filter((r) => !r.statement.not)
    const neg = current.filter((r) => r.statement.not)
    const dead = new Set(neg.map((r) => r.statement.object!))
    const live = [...new Set(pos.map((r) => r.statement.object!))].filter((h) => !dead.has(h)).sort()
    const conflicting = live.length > 1
    out.set(subject, {
      subject,
      live,
      yanks: neg.filter((r) => r.statement.claim === 'source'),
      revokes: neg.filter((r) => r.statement.claim === 'published'),
      deprecations: pos.filter((r) => r.statement.claim === 'published' && metaString(r, 'deprecated') !== undefined),
      conflicting,
      trustedBy: conflicting ? [] : pos.filter((r) => trusted.has(r.statement.actor) && live.includes(r.statement.object!)),
    })
  }
  return out
}

/** Whether any mark is set: versions without one need no explanation. */
export const hasMark = (m: VersionMarks) => m.yanks.length + m.revokes.length + m.deprecations.length + m.trustedBy.length > 0 || m.conflicting
