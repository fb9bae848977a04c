import { ensurePolicy, evaluate, FactIndex, gatherForVerdict, packageOf, PolicyError, type GatherOptions, type Policy, type StatementSource, type Verdict } from '../policy/index.ts'
import { parseJson, ProtocolError } from '../verify/index.ts'
import { readStatements, READ_MAX } from './data.ts'
import { heldProofs, type ShownCheck } from './proofs.ts'

/**
 * The trust view: a policy and a package version in, the engine's verdict out. The engine and its
 * gatherer are pure (src/policy); this module hands the gatherer the store's query as its source,
 * so the view reads the statements `vouch verify` would read, by the same rules (docs/POLICY.md).
 */

/**
 * The store as a statement source. Stored statements were verified at ingest (the ids are the
 * stored ones, never recomputed), so they are only parsed here.
 */
export function storeSource(db: D1Database): StatementSource {
  return async (filter, limit) => {
    const r = await readStatements(db, filter, limit)
    return { statements: r.items.map(({ id, statement }) => ({ id, statement })), truncated: r.truncated }
  }
}

/**
 * Bounds for one page view: each query is one D1 query of at most `READ_MAX.section` rows, well
 * inside a Worker's 1000 queries per request (50 on the Free plan would cap it sooner, and the
 * view then says the read was incomplete). Alias proofs come from the shared cache; checking them
 * (one or two outbound requests each) is a rate-limited POST.
 */
export const TRUST_BOUNDS = { perQuery: READ_MAX.section, maxQueries: 40, maxStatements: 10_000, maxAliasClaims: 16 } as const satisfies GatherOptions

/** A policy file is small; this bounds the form body. */
export const POLICY_MAX_BYTES = 64 * 1024

export interface TrustInput {
  policyText: string
  subject: string
  checkAliases: boolean
}

export type TrustResult =
  | { ok: true; verdict: Verdict; statements: number; truncated: boolean; incomplete: string[]; aliasChecks?: ShownCheck[] }
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

/**
 * Where the view's alias proofs come from: the route decides whether they are only read from the
 * shared cache (GET) or also checked now (POST). Without it, alias claims stay unchecked.
 */
export type AliasLookup = (claims: { did: string; alias: string }[]) => Promise<ShownCheck[]>

export async function runTrust(db: D1Database, input: TrustInput, now: number, aliases?: AliasLookup): Promise<TrustResult> {
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

  let aliasChecks: ShownCheck[] | undefined
  const gathered = await gatherForVerdict(storeSource(db), subject, policy, {
    ...TRUST_BOUNDS,
    now,
    ...(input.checkAliases && {
      proofs: async (claims) => {
        aliasChecks = aliases ? await aliases(claims) : claims.map(({ did, alias }) => ({ did, alias }))
        return heldProofs(aliasChecks)
      },
    }),
  })
  const verdict = evaluate(new FactIndex(gathered.facts), policy, subject, { now, proofs: gathered.proofs })
  return { ok: true, verdict, statements: gathered.facts.length, truncated: !gathered.complete, incomplete: gathered.incomplete, aliasChecks }
}
