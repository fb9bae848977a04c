import type { AliasProof } from '../identity/types.ts'
import { isDidKey } from '../verify/index.ts'
import { evaluate, type Verdict } from './engine.ts'
import { FactIndex, inForce, packageOf, purlType, type Fact } from './facts.ts'
import { GIT_CLAIMS, type GitClaim } from './git.ts'
import type { Policy } from './schema.ts'

const GIT_CLAIM_NAMES = Object.keys(GIT_CLAIMS) as GitClaim[]

/**
 * Gathering for a verdict: asks a statement source for every statement the policy engine
 * (docs/POLICY.md) can look at when it judges one package version, and nothing else. The one
 * gatherer: the CLI's source is the client's verified query over the relays, the explorer's is the
 * store's query, so `vouch verify` and the trust view read the same statements by the same rules.
 * No I/O of its own: everything read comes through the injected source and proof checker.
 *
 * What is read, in three steps, each step's queries in parallel:
 * 1. Alias roots (only if the policy has alias rules): `alias` claims naming the policy's aliases
 *    (`{claim: alias, object: ALIAS}`), kept when a key claims the alias for itself and has not
 *    withdrawn it; at most `maxAliasClaims` are handed to `proofs` (the caller's checker, e.g.
 *    src/identity's `checkAliases`). Keys that prove enough aliases join the policy's keys as roots.
 * 2. The package: `source` claims about the version (`{subject, claim: source}`), `published`
 *    claims when a bridge of the policy covers its ecosystem, and the authorship graph: all
 *    `author` grants and revocations for the package (`{claim: author, object: PKG}`). If that
 *    answer was cut short (more than `perQuery` statements, e.g. spam), the graph is walked
 *    instead from the roots, one `{actor, claim: author, object: PKG}` query per key reached,
 *    `authorDepth` grants deep, and the source claims are re-read per reached key; so statements
 *    by strangers cannot push a trusted key's statements out of the answer. The version's
 *    `git-tree` and `git-commit` claims are read alike (`{subject, claim}`, per key when cut short).
 * 3. The accepted source: the engine is run on what step 2 found; if it accepts a source hash,
 *    its `build` claims and (when the policy requires reviews) its `review` claims are read, and
 *    the trusted-builder graph is walked from the roots (`{actor, claim: trusted-builder}` per
 *    key, `builderDepth` deep). Builds and reviews of other hashes cannot change the verdict.
 *
 * A key's own grants are read also at the last depth, because a key may revoke itself.
 *
 * Bounded: at most `maxQueries` queries, `perQuery` statements asked for per query, `maxStatements`
 * statements kept in all, `concurrency` queries at once. When a bound is hit, or a source had more
 * than it sent and the shortfall was not re-read per trusted key (as above), the result says
 * `complete: false` and why: the verdict may then miss a statement (a yank, a revocation), and a
 * caller should say so.
 */

/** Which statements to read: every given field must match. Never empty. */
export interface StatementFilter {
  subject?: string
  claim?: string
  object?: string
  actor?: string
}

/**
 * Where statements come from: at most `limit` statements matching `filter` (a source over several
 * relays may return up to `limit` from each), already verified, and whether it had more than it
 * returned. Errors it throws end the gathering.
 */
export type StatementSource = (filter: StatementFilter, limit: number) => Promise<{ statements: readonly Fact[]; truncated: boolean }>

/** Checks alias claims and returns the proofs that held (src/identity's `checkAliases(…).proofs`). */
export type ProofChecker = (claims: { did: string; alias: string }[]) => Promise<readonly AliasProof[]>

export interface GatherOptions {
  /** The time the verdict is for (ms since the epoch); default now. Pass the same to `evaluate`. */
  now?: number
  /** Queries at most. Default 200. */
  maxQueries?: number
  /** Statements kept at most, all queries together. Default 20 000. */
  maxStatements?: number
  /** Statements asked of the source per query at most. Default 1000. */
  perQuery?: number
  /** Alias claims handed to `proofs` at most. Default 16. */
  maxAliasClaims?: number
  /** Queries in flight at once. Default 8. */
  concurrency?: number
  /** Without it no key becomes a root by alias. */
  proofs?: ProofChecker
}

export interface Gathered {
  /**
   * Statements, de-duplicated by id, oldest first (time, then id): `evaluate(new FactIndex(facts), …)`.
   * The order is fixed here, not by the source, so every source gives the same explanation.
   */
  facts: Fact[]
  /** Alias proofs that held, for `evaluate(…, { proofs })`. */
  proofs: AliasProof[]
  /** Alias claims handed to the checker. */
  aliasClaims: { did: string; alias: string }[]
  /** The `now` used. */
  now: number
  /** Queries made. */
  queries: number
  /** False when a bound was hit, or a source had more statements than it sent and they were not re-read per key. */
  complete: boolean
  /** Why not complete, one sentence each. */
  incomplete: string[]
  /**
   * `evaluate(new FactIndex(facts), policy, subject, { now, proofs })`, when the gatherer's own
   * early evaluation already saw exactly `facts` (nothing more was read after it): a caller
   * judging many packages need not evaluate twice.
   */
  verdict?: Verdict
}

export const GATHER_DEFAULTS = { maxQueries: 200, maxStatements: 20_000, perQuery: 1000, maxAliasClaims: 16, concurrency: 8 } as const

const intOpt = (name: string, v: number | undefined, def: number, max: number) => {
  if (v === undefined) return def
  if (!Number.isSafeInteger(v) || v < 1 || v > max) throw new RangeError(`${name} must be an integer from 1 to ${max}, got ${v}`)
  return v
}

interface Answer {
  facts: Fact[]
  /** The source had more, or a bound stopped the query. */
  truncated: boolean
}

type Bounds = Required<Pick<GatherOptions, 'maxQueries' | 'maxStatements' | 'perQuery' | 'concurrency'>>

/** The bounded, de-duplicating query runner of one gathering. */
class Gatherer {
  readonly facts = new Map<string, Fact>()
  readonly incomplete = new Set<string>()
  queries = 0
  private reserved = 0
  private running = 0
  private readonly waiting: (() => void)[] = []

  constructor(
    private readonly source: StatementSource,
    private readonly o: Bounds,
  ) {}

  /**
   * One query, bounded. An answer cut short makes the gathering incomplete, unless the caller
   * will `refine` it (read the same thing again per trusted key when it is cut short).
   */
  async ask(filter: StatementFilter, refine = false): Promise<Answer> {
    if (this.queries >= this.o.maxQueries) {
      this.incomplete.add(`stopped at ${this.o.maxQueries} queries (maxQueries)`)
      return { facts: [], truncated: true }
    }
    // Statements still in flight count against the budget, so parallel queries cannot overshoot it.
    const budget = this.o.maxStatements - this.facts.size - this.reserved
    if (budget <= 0) {
      this.incomplete.add(`stopped at ${this.o.maxStatements} statements (maxStatements)`)
      return { facts: [], truncated: true }
    }
    this.queries++
    const limit = Math.min(this.o.perQuery, budget)
    this.reserved += limit
    if (this.running >= this.o.concurrency) await new Promise<void>((r) => this.waiting.push(r))
    this.running++
    try {
      const r = await this.source(filter, limit)
      const out: Fact[] = []
      for (const s of r.statements) {
        const known = this.facts.get(s.id)
        if (known) out.push(known)
        else if (this.facts.size < this.o.maxStatements) {
          // Only id and statement: a source's extras (which relays served it) are not the engine's business.
          const f = { id: s.id, statement: s.statement }
          this.facts.set(s.id, f)
          out.push(f)
        } else this.incomplete.add(`stopped at ${this.o.maxStatements} statements (maxStatements)`)
      }
      if (r.truncated && !refine) this.incomplete.add(`a source had more than ${limit} statements for ${describeFilter(filter)}`)
      return { facts: out, truncated: r.truncated || out.length < r.statements.length }
    } finally {
      this.reserved -= limit
      this.running--
      this.waiting.shift()?.()
    }
  }

  /** Keys reached from `roots` along positive grants `(k) claims (x) <claim> [object]`, reading each key's grants. */
  async walk(claim: string, object: string | undefined, roots: readonly string[], maxDepth: number): Promise<Set<string>> {
    const reached = new Set(roots)
    let frontier = [...reached].sort()
    // Depth 0 reads the roots' grants; a key at maxDepth is still read (it may revoke itself).
    for (let depth = 0; depth <= maxDepth && frontier.length; depth++) {
      const answers = await Promise.all(frontier.map((k) => this.ask({ actor: k, claim, ...(object !== undefined && { object }) })))
      const next: string[] = []
      if (depth < maxDepth) for (const a of answers) for (const x of grantees(a.facts, claim, object)) if (!reached.has(x)) reached.add(x), next.push(x)
      frontier = next.sort()
    }
    return reached
  }

  /** What was read, in the one order every source yields the same explanation from. */
  sorted(): Fact[] {
    return [...this.facts.values()].sort(oldestFirst)
  }
}

/** Time, then id: an order every source can reproduce, whatever order it answered in. */
const oldestFirst = (a: Fact, b: Fact) => a.statement.time - b.statement.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** Subjects of positive grants (the engine's edges: a grant once made stays an edge). */
function grantees(facts: readonly Fact[], claim: string, object: string | undefined): string[] {
  return facts.filter((f) => f.statement.claim === claim && !f.statement.not && f.statement.object === object && isDidKey(f.statement.subject)).map((f) => f.statement.subject)
}

/** Keys reached from `roots` within `maxDepth` grants, over statements already read. */
function reachable(facts: readonly Fact[], claim: string, object: string | undefined, roots: readonly string[], maxDepth: number): Set<string> {
  const byActor = new Map<string, Fact[]>()
  for (const f of facts) (byActor.get(f.statement.actor) ?? byActor.set(f.statement.actor, []).get(f.statement.actor)!).push(f)
  const reached = new Set(roots)
  let frontier = [...reached]
  for (let depth = 1; depth <= maxDepth && frontier.length; depth++) {
    const next: string[] = []
    for (const k of frontier) for (const x of grantees(byActor.get(k) ?? [], claim, object)) if (!reached.has(x)) reached.add(x), next.push(x)
    frontier = next
  }
  return reached
}

const describeFilter = (f: StatementFilter) =>
  Object.entries(f)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')

const none: Answer = { facts: [], truncated: false }

/**
 * Reads from `source` the statements `evaluate(new FactIndex(facts), policy, subject, { now,
 * proofs })` needs for one package version (see the comment at the top of this file for what and
 * how much). Throws what the source throws, RangeError for bad options or a subject without a
 * version.
 */
export async function gatherForVerdict(source: StatementSource, subject: string, policy: Policy, o: GatherOptions = {}): Promise<Gathered> {
  if (typeof source !== 'function') throw new TypeError('source must be a function (filter, limit) => Promise<{ statements, truncated }>')
  const parsed = packageOf(subject)
  if (!parsed) throw new RangeError(`subject must be a package URL with a version (pkg:type/name@version): ${subject}`)
  const now = o.now ?? Date.now()
  if (!Number.isSafeInteger(now) || now < 0) throw new RangeError('now must be a non-negative integer (ms since the epoch)')
  const horizon = now + policy.clockSkewMs
  const g = new Gatherer(source, {
    maxQueries: intOpt('maxQueries', o.maxQueries, GATHER_DEFAULTS.maxQueries, 100_000),
    maxStatements: intOpt('maxStatements', o.maxStatements, GATHER_DEFAULTS.maxStatements, 10_000_000),
    perQuery: intOpt('perQuery', o.perQuery, GATHER_DEFAULTS.perQuery, 1_000_000),
    concurrency: intOpt('concurrency', o.concurrency, GATHER_DEFAULTS.concurrency, 64),
  })
  const maxAliasClaims = intOpt('maxAliasClaims', o.maxAliasClaims, GATHER_DEFAULTS.maxAliasClaims, 10_000)

  // 1. Roots: the policy's keys, and keys proving the policy's aliases.
  const roots = new Set(policy.trust.keys)
  let proofs: AliasProof[] = []
  let aliasClaims: { did: string; alias: string }[] = []
  const aliases = [...new Set(policy.trust.aliases.flatMap((r) => r.aliases))]
  if (aliases.length) {
    const answers = await Promise.all(aliases.map((alias) => g.ask({ claim: 'alias', object: alias })))
    const claims = inForce(answers.flatMap((a) => a.facts), horizon)
      .filter((f) => !f.statement.not && f.statement.actor === f.statement.subject && f.statement.object !== undefined)
      .sort(oldestFirst) // which claims fit under the bound must not depend on the source's order
    if (claims.length > maxAliasClaims) g.incomplete.add(`${claims.length} alias claims; only the first ${maxAliasClaims} were checked (maxAliasClaims)`)
    aliasClaims = claims.slice(0, maxAliasClaims).map((f) => ({ did: f.statement.actor, alias: f.statement.object! }))
    if (o.proofs && aliasClaims.length) proofs = [...(await o.proofs(aliasClaims))]
    for (const rule of policy.trust.aliases) {
      const proved = new Map<string, Set<string>>()
      for (const p of proofs) if (rule.aliases.includes(p.alias) && aliasClaims.some((c) => c.did === p.did && c.alias === p.alias)) (proved.get(p.did) ?? proved.set(p.did, new Set()).get(p.did)!).add(p.alias)
      for (const [did, set] of proved) if (set.size >= rule.require) roots.add(did)
    }
  }
  const rootList = [...roots].sort()

  // 2. The version's source claims and the package's authorship graph.
  const type = purlType(subject)
  const bridges = policy.bridges.filter((b) => type !== undefined && b.ecosystems.includes(type)).map((b) => b.key)
  const [sources, published, grants, ...gits] = await Promise.all([
    g.ask({ subject, claim: 'source' }, true),
    bridges.length ? g.ask({ subject, claim: 'published' }, true) : Promise.resolve(none),
    g.ask({ claim: 'author', object: parsed.pkg }, true),
    ...GIT_CLAIM_NAMES.map((claim) => g.ask({ subject, claim }, true)),
  ])
  const authors = grants.truncated ? await g.walk('author', parsed.pkg, rootList, policy.sources.authorDepth) : reachable(grants.facts, 'author', parsed.pkg, rootList, policy.sources.authorDepth)
  await Promise.all([
    ...(sources.truncated ? [...authors].sort().map((actor) => g.ask({ subject, claim: 'source', actor })) : []),
    ...(published.truncated ? [...new Set(bridges)].map((actor) => g.ask({ subject, claim: 'published', actor })) : []),
    // Git claims (POLICY.md rule 6a) count from the same keys as source claims.
    ...GIT_CLAIM_NAMES.flatMap((claim, i) => (gits[i]!.truncated ? [...new Set([...authors, ...bridges])].sort().map((actor) => g.ask({ subject, claim, actor })) : [])),
  ])

  // 3. Builds and reviews of the source the policy accepts, and who the trusted builders are.
  const seen = g.facts.size
  const early = evaluate(new FactIndex(g.sorted()), policy, subject, { now, proofs })
  if (early.source) {
    const source = early.source
    const [builders, builds, reviews] = await Promise.all([
      g.walk('trusted-builder', undefined, rootList, policy.builds.builderDepth),
      g.ask({ subject: source, claim: 'build' }, true),
      policy.reviews.required > 0 ? g.ask({ subject: source, claim: 'review' }, true) : Promise.resolve(none),
    ])
    const reviewers = policy.reviews.from === 'roots' ? rootList : policy.reviews.from
    await Promise.all([
      ...(builds.truncated ? [...builders].sort().map((actor) => g.ask({ subject: source, claim: 'build', actor })) : []),
      ...(reviews.truncated ? [...new Set(reviewers)].map((actor) => g.ask({ subject: source, claim: 'review', actor })) : []),
    ])
  }

  // Facts are only ever added, so the same count is the same set.
  return { facts: g.sorted(), proofs, aliasClaims, now, queries: g.queries, complete: g.incomplete.size === 0, incomplete: [...g.incomplete], ...(g.facts.size === seen && { verdict: early }) }
}
