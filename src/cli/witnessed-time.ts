import { boundRequirement, witnessedTimes, type LogChecker, type NoBound, type RequestOptions, type TimeBound } from '../client/index.ts'
import { FactIndex, revokedKeys, type AliasProof, type Explanation, type Fact, type Policy } from '../policy/index.ts'

/**
 * Under `revocation: "witnessed"` (docs/POLICY.md rule 4), the gathered facts with the witnessed
 * time of every statement of a key the policy sees revoked (PROTOCOL §6.13), and a node for the
 * explanation when some got none; the facts unchanged under any other rule. Only those statements
 * cost requests: one witnessed checkpoint per statement and relay, and the tiles the proofs need.
 */
export async function withWitnessedTimes(
  log: LogChecker | undefined,
  policy: Policy,
  subject: string,
  g: { facts: Fact[]; now: number; proofs?: readonly AliasProof[] },
  o: RequestOptions = {},
): Promise<{ facts: Fact[]; node?: Explanation; bounds?: ReadonlyMap<string, TimeBound> }> {
  if (policy.revocation !== 'witnessed' || !policy.logs) return { facts: g.facts }
  const actors = revokedKeys(new FactIndex(g.facts), policy, subject, { now: g.now, proofs: g.proofs })
  if (!actors.size) return { facts: g.facts }
  if (!log) return { facts: g.facts, node: { rule: 'witnessed-times', ok: false, text: 'no relay log was read, so no statement of a revoked key has a witnessed time' } }
  const r = await witnessedTimes(log, g.facts, actors, boundRequirement(policy.logs, policy.clockSkewMs), o)
  if (!r.refused.length) return { facts: r.facts, bounds: r.bounds }
  const why = (n: NoBound) => (n.relay ? `${n.code}: ${n.message}` : n.message)
  return {
    facts: r.facts,
    bounds: r.bounds,
    node: {
      rule: 'witnessed-times',
      ok: false,
      text: `${r.refused.length} statement${r.refused.length === 1 ? '' : 's'} of revoked keys with no witnessed time (${r.bounds.size} with one)`,
      children: r.refused.map((x) => ({ rule: 'no-witnessed-time', ok: false, text: x.reasons.map(why).join('; '), statements: [x.id] })),
    },
  }
}
