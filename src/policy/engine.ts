import { authority, type Standing } from './authority.ts'
import { inForce, packageOf, purlType, type Fact, type FactIndex } from './facts.ts'
import { gitCorroboration, type GitId } from './git.ts'
import type { Policy } from './schema.ts'
import type { AliasProof } from '../identity/types.ts'

export type { AliasProof }

/** One node of the explanation: a rule, whether it held, why, and the statements it used. */
export interface Explanation {
  rule: string
  ok: boolean
  text: string
  statements?: string[]
  children?: Explanation[]
}

export type VerdictKind = 'trusted' | 'untrusted' | 'conflict'

export interface Verdict {
  verdict: VerdictKind
  subject: string
  /** The source hash the policy accepts, when exactly one. */
  source?: string
  /** Accepted build outputs, by system ("" when the builders did not say). */
  builds: { system: string; output: string; builders: string[] }[]
  /** Git ids that corroborate the version (POLICY.md rule 6a); never a source of conflict. */
  git: GitId[]
  /**
   * Hashes a key the policy counts (a publisher or a bridge) says the version IS NOT: yanked,
   * unpublished or withdrawn, sorted. Data, so callers never read the explanation's text.
   */
  yanked: string[]
  explanation: Explanation
}

export interface EvaluateOptions {
  now: number
  proofs?: readonly AliasProof[]
}

const short = (did: string) => (did.startsWith('did:key:') ? `${did.slice(0, 16)}…${did.slice(-4)}` : did)
const ids = (fs: readonly Fact[]) => fs.map((f) => f.id)
/** `children` only when there are some, so explanations without them keep their shape. */
const withChildren = (nodes: (Explanation | undefined)[]) => {
  const children = nodes.filter((n): n is Explanation => n !== undefined)
  return children.length ? { children } : {}
}

/**
 * Whether a key's claim counts, given its standing and the policy's revocation rule. "from-time"
 * trusts the claim's own date, which a thief holding the key can set before the revocation;
 * "witnessed" uses only the time witnesses proved the claim existed by (`Fact.witnessedAt`).
 */
function counts(st: Standing | undefined, f: Fact, policy: Policy): boolean {
  if (!st) return false
  if (st.revokedAt === undefined) return true
  return cutOff(policy)(f, st.revokedAt)
}

const witnessedBefore = (f: Fact, revokedAt: number) => f.witnessedAt !== undefined && f.witnessedAt < revokedAt
const datedBefore = (f: Fact, revokedAt: number) => f.statement.time < revokedAt
const never = () => false

/** The rule for a revoked key's claim under the policy. */
const cutOff = (policy: Policy) => (policy.revocation === 'witnessed' ? witnessedBefore : policy.revocation === 'from-time' ? datedBefore : never)
/** `authority`'s step 3 (grants by a revoked granter): by their date in "from-time" and "all" alike, as before; by witnessed time in "witnessed". */
const grantRule = (policy: Policy) => (policy.revocation === 'witnessed' ? witnessedBefore : undefined)

const iso = (ms: number) => new Date(ms).toISOString()

/**
 * In "witnessed" mode, why a claim of a revoked key counted or not, in words: the bound is the
 * evidence, and the claim's own date is named as what it is.
 */
function witnessedNote(f: Fact, st: Standing | undefined, policy: Policy): Explanation | undefined {
  if (policy.revocation !== 'witnessed' || st?.revokedAt === undefined) return undefined
  const key = short(f.statement.actor)
  const own = `its own time ${iso(f.statement.time)} is the key's word, which a thief can back-date`
  if (witnessedBefore(f, st.revokedAt)) {
    return { rule: 'witnessed', ok: true, text: `counted: ${key}'s claim was witnessed by ${(f.witnessedBy ?? []).join(', ')} by ${iso(f.witnessedAt!)}, before the key was revoked from ${iso(st.revokedAt)}`, statements: [f.id] }
  }
  const when = f.witnessedAt === undefined ? 'this claim is in no checkpoint witnessed before then' : `this claim was first witnessed by ${iso(f.witnessedAt)}, not before then`
  return { rule: 'not-witnessed', ok: false, text: `not counted: ${key} was revoked from ${iso(st.revokedAt)} and ${when} (${own})`, statements: [f.id] }
}

/**
 * The keys whose claims a "witnessed" verdict on `subject` needs a witnessed time for: authors of
 * its package and trusted builders that the policy sees revoked. Every grant is assumed to count
 * here (a superset of the verdict's own), so no claim the verdict might count goes unbounded.
 */
export function revokedKeys(index: FactIndex, policy: Policy, subject: string, o: EvaluateOptions): Set<string> {
  const parsed = packageOf(subject)
  if (!parsed) throw new TypeError(`subject must be a package URL with a version (pkg:type/name@version): ${subject}`)
  const horizon = o.now + policy.clockSkewMs
  const { keys } = roots(index, policy, o, horizon)
  const all = () => true
  const out = new Set<string>()
  for (const [k, st] of authority(index, keys, 'author', parsed.pkg, policy.sources.authorDepth, horizon, all)) if (st.revokedAt !== undefined) out.add(k)
  for (const [k, st] of authority(index, keys, 'trusted-builder', undefined, policy.builds.builderDepth, horizon, all)) if (st.revokedAt !== undefined) out.add(k)
  return out
}

/** The roots: keys the policy names, plus keys that claim and prove enough of a listed alias set. */
function roots(index: FactIndex, policy: Policy, o: EvaluateOptions, horizon: number): { keys: Set<string>; why: Explanation[] } {
  const keys = new Set(policy.trust.keys)
  const why: Explanation[] = policy.trust.keys.map((k) => ({ rule: 'root', ok: true, text: `${short(k)} is trusted directly by the policy` }))
  for (const rule of policy.trust.aliases) {
    const byDid = new Map<string, { aliases: Set<string>; facts: Fact[] }>()
    for (const p of o.proofs ?? []) {
      if (!rule.aliases.includes(p.alias)) continue
      // The key must itself claim the alias (and not have withdrawn it), and the proof must hold.
      const claim = inForce(index.about(p.did, 'alias'), horizon).find((f) => f.statement.actor === p.did && f.statement.object === p.alias && !f.statement.not)
      if (!claim) continue
      const e = byDid.get(p.did) ?? { aliases: new Set(), facts: [] }
      if (!e.aliases.has(p.alias)) e.aliases.add(p.alias), e.facts.push(claim)
      byDid.set(p.did, e)
    }
    for (const [did, e] of byDid) {
      const ok = e.aliases.size >= rule.require
      if (ok) keys.add(did)
      why.push({ rule: 'root-by-alias', ok, text: `${short(did)} proves ${[...e.aliases].join(', ')} (${e.aliases.size} of ${rule.require} required from ${rule.aliases.join(', ')})`, statements: ids(e.facts) })
    }
  }
  return { keys, why }
}

function standingText(key: string, st: Standing, relation: string): string {
  const path = st.depth === 0 ? 'a root' : `${relation} via ${st.via.map((f) => short(f.statement.actor)).join(' → ')}`
  const rev = st.revokedAt !== undefined ? `, revoked from ${new Date(st.revokedAt).toISOString()} by ${short(st.revokedBy!.statement.actor)}` : ''
  return `${short(key)}: ${path}${rev}`
}

/**
 * The verdict on one package version under a policy: which source hash to believe, which build
 * outputs, whether required reviews exist, and why. Pure: statements in, verdict out.
 * docs/POLICY.md states every rule this applies.
 */
export function evaluate(index: FactIndex, policy: Policy, subject: string, o: EvaluateOptions): Verdict {
  const horizon = o.now + policy.clockSkewMs
  const parsed = packageOf(subject)
  if (!parsed) throw new TypeError(`subject must be a package URL with a version (pkg:type/name@version): ${subject}`)
  const root = roots(index, policy, o, horizon)

  // 1. Who may publish the package: roots (if allowed), authors by the trust graph, bridges.
  const authors = authority(index, root.keys, 'author', parsed.pkg, policy.sources.authorDepth, horizon, grantRule(policy))
  const publishers = new Map<string, Standing>()
  for (const [k, st] of authors) if (st.depth > 0 || policy.sources.rootsMayPublish) publishers.set(k, st)
  const type = purlType(subject)
  const bridges = new Set(policy.bridges.filter((b) => type && b.ecosystems.includes(type)).map((b) => b.key))

  // 2. Source claims and yanks.
  const sourceFacts = inForce(index.about(subject, 'source'), horizon)
  const bridged = inForce(index.about(subject, 'published'), horizon).filter((f) => bridges.has(f.statement.actor))
  const counted = sourceFacts.filter((f) => counts(publishers.get(f.statement.actor), f, policy))
  const ignored = sourceFacts.filter((f) => !counted.includes(f))
  const yanks = [...counted, ...bridged].filter((f) => f.statement.not)
  const yanked = new Set(yanks.map((f) => f.statement.object))
  const claims = [...counted, ...bridged].filter((f) => !f.statement.not && f.statement.object)
  const hashes = new Map<string, Fact[]>()
  for (const f of claims) if (!yanked.has(f.statement.object)) (hashes.get(f.statement.object!) ?? hashes.set(f.statement.object!, []).get(f.statement.object!)!).push(f)

  const sourceNode: Explanation = {
    rule: 'source',
    ok: hashes.size === 1,
    text:
      hashes.size === 1
        ? `${subject} is ${[...hashes.keys()][0]}`
        : hashes.size === 0
          ? `no trusted source claim for ${subject}`
          : `trusted keys disagree on the source of ${subject}: ${[...hashes.keys()].join(' vs ')}`,
    children: [
      ...[...hashes].map(([h, fs]): Explanation => ({ rule: 'source-claim', ok: true, text: `${h} claimed by ${fs.map((f) => short(f.statement.actor)).join(', ')}`, statements: ids(fs), ...withChildren(fs.map((f) => witnessedNote(f, publishers.get(f.statement.actor), policy))) })),
      ...yanks.map((f): Explanation => ({ rule: 'yank', ok: false, text: `${short(f.statement.actor)} says ${subject} IS NOT ${f.statement.object}`, statements: [f.id] })),
      ...ignored.map((f): Explanation => witnessedNote(f, publishers.get(f.statement.actor), policy) ?? {
        rule: 'untrusted-claim',
        ok: false,
        text: `${short(f.statement.actor)} ${f.statement.not ? 'yanks' : 'claims'} ${f.statement.object ?? ''} but ${publishers.has(f.statement.actor) ? 'its authorship was revoked before it' : 'is not an author of ' + parsed.pkg + ' under this policy'}`,
        statements: [f.id],
      }),
      {
        rule: 'publishers',
        ok: publishers.size + bridges.size > 0,
        text: `who may publish ${parsed.pkg}`,
        children: [
          ...[...publishers].map(([k, st]): Explanation => ({ rule: st.depth ? 'author' : 'root', ok: st.revokedAt === undefined, text: standingText(k, st, 'author'), statements: ids(st.via.concat(st.revokedBy ? [st.revokedBy] : [])) })),
          ...[...bridges].map((k): Explanation => ({ rule: 'bridge', ok: true, text: `${short(k)} is trusted as a bridge for pkg:${type}` })),
        ],
      },
    ],
  }
  const source = hashes.size === 1 ? [...hashes.keys()][0] : undefined
  const conflicts: string[] = hashes.size > 1 ? ['source'] : []
  const git = gitCorroboration(index, subject, (f) => bridges.has(f.statement.actor) || counts(publishers.get(f.statement.actor), f, policy), policy, horizon)

  // 3. Builds of the accepted source.
  const builds: Verdict['builds'] = []
  let buildNode: Explanation = { rule: 'builds', ok: !policy.builds.required, text: 'no source hash, so no build was considered' }
  if (source) {
    const builders = authority(index, root.keys, 'trusted-builder', undefined, policy.builds.builderDepth, horizon, grantRule(policy))
    const buildFacts = inForce(index.about(source, 'build'), horizon).filter((f) => !f.statement.not && f.statement.object)
    const bySystem = new Map<string, Map<string, Fact[]>>()
    const untrusted: Fact[] = []
    for (const f of buildFacts) {
      if (!counts(builders.get(f.statement.actor), f, policy)) {
        untrusted.push(f)
        continue
      }
      const sys = typeof f.statement.meta?.system === 'string' ? f.statement.meta.system : ''
      const outs = bySystem.get(sys) ?? bySystem.set(sys, new Map()).get(sys)!
      ;(outs.get(f.statement.object!) ?? outs.set(f.statement.object!, []).get(f.statement.object!)!).push(f)
    }
    const children: Explanation[] = []
    for (const [sys, outs] of [...bySystem].sort()) {
      const agreeing = [...outs].filter(([, fs]) => new Set(fs.map((f) => f.statement.actor)).size >= policy.builds.agree)
      for (const [out, fs] of outs) {
        const n = new Set(fs.map((f) => f.statement.actor)).size
        children.push({ rule: 'build-output', ok: n >= policy.builds.agree, text: `${sys || '(any system)'}: ${out} from ${n} trusted builder${n === 1 ? '' : 's'} (${policy.builds.agree} required): ${fs.map((f) => short(f.statement.actor)).join(', ')}`, statements: ids(fs), ...withChildren(fs.map((f) => witnessedNote(f, builders.get(f.statement.actor), policy))) })
      }
      if (agreeing.length > 1) conflicts.push(`build:${sys}`)
      if (agreeing.length === 1) builds.push({ system: sys, output: agreeing[0]![0], builders: [...new Set(agreeing[0]![1].map((f) => f.statement.actor))] })
      if (outs.size > 1) children.push({ rule: 'build-disagreement', ok: false, text: `${sys || '(any system)'}: trusted builders disagree (${outs.size} different outputs)` })
    }
    const used = new Set([...bySystem.values()].flatMap((outs) => [...outs.values()].flat().map((f) => f.statement.actor)))
    for (const k of [...used].sort()) {
      const st = builders.get(k)!
      children.push({ rule: st.depth ? 'trusted-builder' : 'root', ok: st.revokedAt === undefined, text: standingText(k, st, 'trusted builder'), statements: ids(st.via.concat(st.revokedBy ? [st.revokedBy] : [])) })
    }
    for (const f of untrusted) children.push(witnessedNote(f, builders.get(f.statement.actor), policy) ?? { rule: 'untrusted-build', ok: false, text: `${short(f.statement.actor)} claims ${f.statement.object} but is not a trusted builder under this policy`, statements: [f.id] })
    buildNode = {
      rule: 'builds',
      ok: builds.length > 0 || !policy.builds.required,
      text: builds.length ? `${builds.length} trusted build output${builds.length === 1 ? '' : 's'}` : `no build output with ${policy.builds.agree} agreeing trusted builder${policy.builds.agree === 1 ? '' : 's'}${policy.builds.required ? ' (required)' : ''}`,
      children,
    }
  }

  // 4. Reviews of the accepted source.
  let reviewNode: Explanation | undefined
  let reviewsOk = true
  if (policy.reviews.required > 0) {
    const reviewers = new Set(policy.reviews.from === 'roots' ? root.keys : policy.reviews.from)
    const rs = source ? inForce(index.about(source, 'review'), horizon).filter((f) => !f.statement.not && reviewers.has(f.statement.actor)) : []
    const pass = rs.filter((f) => f.statement.object === 'pass')
    const fail = rs.filter((f) => f.statement.object === 'fail')
    reviewsOk = pass.length >= policy.reviews.required && fail.length === 0
    reviewNode = {
      rule: 'reviews',
      ok: reviewsOk,
      text: `${pass.length} passing review${pass.length === 1 ? '' : 's'} of ${policy.reviews.required} required${fail.length ? `, ${fail.length} failing` : ''}`,
      children: rs.map((f) => ({ rule: 'review', ok: f.statement.object === 'pass', text: `${short(f.statement.actor)}: ${f.statement.object}`, statements: [f.id] })),
    }
  }

  const verdict: VerdictKind = conflicts.length ? 'conflict' : source && git.ok && buildNode.ok && reviewsOk ? 'trusted' : 'untrusted'
  return {
    verdict,
    subject,
    source,
    builds,
    git: git.accepted,
    yanked: [...yanked].filter((h): h is string => h !== undefined).sort(),
    explanation: {
      rule: 'verdict',
      ok: verdict === 'trusted',
      text: `${subject}: ${verdict}${conflicts.length ? ` (${conflicts.join(', ')})` : ''}`,
      children: [{ rule: 'roots', ok: root.keys.size > 0, text: `${root.keys.size} trusted root key${root.keys.size === 1 ? '' : 's'}`, children: root.why }, sourceNode, ...(git.accepted.length || git.node.children!.length || !git.ok ? [git.node] : []), buildNode, ...(reviewNode ? [reviewNode] : [])],
    },
  }
}

/** The explanation as an indented tree for terminals. */
export function renderExplanation(e: Explanation, indent = ''): string {
  const mark = e.ok ? '✓' : '✗'
  const refs = e.statements?.length ? `  [${e.statements.map((s) => s.slice(0, 15)).join(', ')}]` : ''
  return [`${indent}${mark} ${e.text}${refs}`, ...(e.children ?? []).map((c) => renderExplanation(c, `${indent}  `))].join('\n')
}
