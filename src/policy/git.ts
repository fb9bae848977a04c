import { parseGitoid, type GitObjectFormat } from '../verify/index.ts'
import type { Explanation } from './engine.ts'
import { inForce, type Fact, type FactIndex } from './facts.ts'
import type { Policy } from './schema.ts'

/** The two git claims about a version and the gitoid type each must name. */
export const GIT_CLAIMS = { 'git-tree': 'tree', 'git-commit': 'commit' } as const
export type GitClaim = keyof typeof GIT_CLAIMS

export interface GitId {
  claim: GitClaim
  format: GitObjectFormat
  /** The gitoid URI. */
  id: string
}

const short = (did: string) => (did.startsWith('did:key:') ? `${did.slice(0, 16)}…${did.slice(-4)}` : did)

/**
 * POLICY.md rule 6a. Git claims corroborate a version; they are never a second source, so nothing
 * here can make a verdict a conflict. They are read from the same keys whose source claims count
 * (`speaks`), yanked by their IS NOT form like source hashes, and accepted per claim and object
 * format when exactly one id remains (a sha1 and a sha256 tree of the same files legitimately
 * differ). Objects that are not a gitoid of the claim's type are ignored: a relay checks only
 * the spelling of a gitoid, not that a `git-tree` names a tree.
 */
export function gitCorroboration(index: FactIndex, subject: string, speaks: (f: Fact) => boolean, policy: Policy, horizon: number): { node: Explanation; accepted: GitId[]; ok: boolean } {
  const accepted: GitId[] = []
  const children: Explanation[] = []
  for (const [claim, type] of Object.entries(GIT_CLAIMS) as [GitClaim, string][]) {
    const facts = inForce(index.about(subject, claim), horizon).filter(speaks)
    const yanked = new Set(facts.filter((f) => f.statement.not).map((f) => f.statement.object))
    const byFormat = new Map<GitObjectFormat, Map<string, Fact[]>>()
    for (const f of facts) {
      const o = f.statement.object
      const g = o === undefined || f.statement.not || yanked.has(o) ? undefined : parseGitoid(o)
      if (!g || g.type !== type) continue
      const ids = byFormat.get(g.format) ?? byFormat.set(g.format, new Map()).get(g.format)!
      ;(ids.get(o!) ?? ids.set(o!, []).get(o!)!).push(f)
    }
    for (const [format, ids] of [...byFormat].sort()) {
      for (const [id, fs] of ids) children.push({ rule: claim, ok: ids.size === 1, text: `${id} claimed by ${fs.map((f) => short(f.statement.actor)).join(', ')}`, statements: fs.map((f) => f.id) })
      if (ids.size === 1) accepted.push({ claim, format, id: [...ids.keys()][0]! })
      else children.push({ rule: `${claim}-disagreement`, ok: false, text: `trusted keys disagree on the ${format} ${type} of ${subject} (${ids.size} ids); none is accepted` })
    }
    for (const f of facts.filter((f) => f.statement.not)) children.push({ rule: `${claim}-yank`, ok: false, text: `${short(f.statement.actor)} says ${subject} IS NOT ${f.statement.object ?? '(no object)'}`, statements: [f.id] })
  }
  const want = policy.sources.requireGit
  const ok = want === false || accepted.some((a) => a.claim === `git-${want}`)
  const text = accepted.length
    ? `corroborated by ${accepted.map((a) => a.id).join(', ')}`
    : `no trusted git claim for ${subject}`
  return { node: { rule: 'git', ok, text: want ? `${text} (a git ${want} is required)` : text, children }, accepted, ok }
}
