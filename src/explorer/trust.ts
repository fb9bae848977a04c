import { checkAliases, type AliasCheck } from '../identity/index.ts'
import { ensurePolicy, evaluate, FactIndex, inForce, packageOf, PolicyError, type AliasProof, type Fact, type Policy, type Verdict } from '../policy/index.ts'
import { parseJson, parseSri, ProtocolError } from '../verify/index.ts'
import { readStatements, READ_MAX, type Row } from './data.ts'

/**
 * The trust view: a policy and a package version in, the engine's verdict out. The engine is pure
 * (src/policy); this module only gathers, through the store's query code, every statement the
 * engine can look at for this one verdict, following docs/POLICY.md:
 * - statements about the version (`source`, `published`);
 * - `author` grants and revocations naming the package;
 * - `trusted-builder` grants, walked from the roots as far as `builderDepth`;
 * - statements about each claimed source hash (`build`, `review`);
 * - `alias` claims for the aliases the policy's alias rules name.
 */

/** Keys whose trusted-builder grants are read, at most (one query each). */
const MAX_BUILDER_KEYS = 100
/** Alias proofs checked for one verdict, at most (each is one or two outbound requests). */
const MAX_ALIAS_CHECKS = 16
/** A policy file is small; this bounds the form body. */
export const POLICY_MAX_BYTES = 64 * 1024

export interface TrustInput {
  policyText: string
  subject: string
  checkAliases: boolean
}

export type TrustResult =
  | { ok: true; verdict: Verdict; statements: number; truncated: boolean; aliasChecks?: AliasCheck[] }
  | { ok: false; field: 'policy' | 'subject'; message: string }

export function parsePolicy(text: string): Policy {
  if (!text.trim()) throw new PolicyError('paste a policy (docs/POLICY.md), e.g. {"version": 1, "trust": {"keys": ["did:key:z6Mk…"]}}')
  let value: unknown
  try {
    value = parseJson(text, { maxDepth: 8 })
  } catch (e) {
    if (e instanceof ProtocolError) throw new PolicyError(`the policy is not JSON: ${e.message}`)
    throw e
  }
  return ensurePolicy(value)
}

export async function runTrust(db: D1Database, input: TrustInput, now: number): Promise<TrustResult> {
  let policy: Policy
  try {
    policy = parsePolicy(input.policyText)
  } catch (e) {
    if (e instanceof PolicyError) return { ok: false, field: 'policy', message: e.message }
    throw e
  }
  const subject = input.subject.trim()
  const parsed = packageOf(subject)
  if (!parsed) return { ok: false, field: 'subject', message: 'give a package version as a purl with a version: pkg:generic/mylib@1.2.3 (or type mylib@1.2.3 and it is read as pkg:generic/…)' }

  const seen = new Map<string, Row>()
  let truncated = false
  const take = (b: { items: Row[]; truncated: boolean }) => {
    truncated ||= b.truncated
    for (const r of b.items) seen.set(r.id, r)
    return b.items
  }
  const [about, , ...aliasRows] = await Promise.all([
    readStatements(db, { subject }, READ_MAX.section).then(take),
    readStatements(db, { claim: 'author', object: parsed.pkg }, READ_MAX.section).then(take),
    ...policy.trust.aliases.flatMap((rule) => rule.aliases).map((alias) => readStatements(db, { claim: 'alias', object: alias }, READ_MAX.section).then(take)),
  ])

  // Source hashes anyone claims for the version: their builds and reviews.
  const hashes = [...new Set(about.filter((r) => ['source', 'published'].includes(r.statement.claim) && r.statement.object && parseSri(r.statement.object)).map((r) => r.statement.object!))]
  if (hashes.length > READ_MAX.hashes) truncated = true
  await Promise.all(hashes.slice(0, READ_MAX.hashes).map((h) => readStatements(db, { subject: h }, READ_MAX.section).then(take)))

  // Trusted builders: breadth-first from the roots (and from keys that claim a policy alias, which
  // may become roots once proven), reading each reached key's grants, revocations included.
  const aliasKeys = aliasRows.flat().filter((r) => r.statement.actor === r.statement.subject).map((r) => r.statement.actor)
  let frontier = [...new Set([...policy.trust.keys, ...aliasKeys])]
  const reached = new Set(frontier)
  let queried = 0
  for (let depth = 0; depth <= policy.builds.builderDepth && frontier.length; depth++) {
    const batch = frontier.slice(0, MAX_BUILDER_KEYS - queried)
    if (batch.length < frontier.length) truncated = true
    queried += batch.length
    const grants = (await Promise.all(batch.map((k) => readStatements(db, { actor: k, claim: 'trusted-builder' }, READ_MAX.section).then(take)))).flat()
    frontier = []
    for (const g of grants) if (!reached.has(g.statement.subject)) reached.add(g.statement.subject), frontier.push(g.statement.subject)
  }

  const facts: Fact[] = [...seen.values()].sort((a, b) => a.seq - b.seq).map(({ id, statement }) => ({ id, statement }))
  const index = new FactIndex(facts)

  let proofs: AliasProof[] = []
  let aliasChecks: AliasCheck[] | undefined
  if (input.checkAliases && policy.trust.aliases.length) {
    const horizon = now + policy.clockSkewMs
    const claims = inForce(aliasRows.flat().map(({ id, statement }) => ({ id, statement })), horizon)
      .filter((f) => !f.statement.not && f.statement.actor === f.statement.subject && f.statement.object)
      .slice(0, MAX_ALIAS_CHECKS)
      .map((f) => ({ did: f.statement.actor, alias: f.statement.object! }))
    const checked = await checkAliases(claims, { timeoutMs: 4000 })
    proofs = checked.proofs
    aliasChecks = checked.results
  }
  const verdict = evaluate(index, policy, subject, { now, proofs })
  return { ok: true, verdict, statements: index.size, truncated, aliasChecks }
}
