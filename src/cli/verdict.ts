import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { querySource } from '../client/index.ts'
import { checkAliases, ProofCache, type AliasCheck } from '../identity/index.ts'
import { ensurePolicy, evaluate, FactIndex, gatherForVerdict, PolicyError, renderExplanation, type Explanation, type Gathered, type Policy, type Verdict } from '../policy/index.ts'
import { parseJson, ProtocolError } from '../verify/index.ts'
import type { Context } from './context.ts'
import { localError, usageError } from './errors.ts'
import { fields } from './output.ts'
import { withWitnessedTimes } from './witnessed-time.ts'

/**
 * A verdict from the CLI's side: the policy file, the proof cache, the relays as the gatherer's
 * statement source, and the verdict as text. Shared by `vouch verify`, `vouch fetch --policy` and
 * `vouch policy`, so no command imports another.
 */

/** The policy file `vouch verify` reads when --policy is not given, and `vouch policy init` writes. */
export const policyPath = (ctx: Context) => join(ctx.paths.dir, 'policy.json')
/** Alias proofs checked earlier, kept until they expire (src/identity's ProofCache). */
const proofsPath = (ctx: Context) => join(ctx.paths.dir, 'proofs.json')

/**
 * JSON with `//` and `/* … *\/` comments (the form docs/POLICY.md shows). Comments become spaces,
 * so the strict parser's error offsets still point into the file as written.
 */
export function stripComments(text: string): string {
  let out = ''
  let i = 0
  while (i < text.length) {
    const c = text[i]!
    if (c === '"') {
      const start = i++
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1
      out += text.slice(start, ++i)
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') (out += ' '), i++
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2)
      const stop = end < 0 ? text.length : end + 2
      out += text.slice(i, stop).replace(/[^\n]/g, ' ')
      i = stop
    } else (out += c), i++
  }
  return out
}

/**
 * Where the policy comes from, the same for every command: `--policy FILE`; `--policy` with no
 * value (parsed as '') for the user's own; else `.vouch/policy.json` in `from` (the current
 * directory, or the lockfile's) or the nearest parent that has one; else the user's own
 * (<config dir>/policy.json). A project's policy travels with its repository.
 */
export async function findPolicy(ctx: Context, file: string | undefined, from = process.cwd()): Promise<{ path: string; source: 'flag' | 'project' | 'user' }> {
  if (file !== undefined && file !== '') return { path: resolve(file), source: 'flag' }
  if (file === undefined) {
    for (let dir = resolve(from); ; ) {
      const candidate = join(dir, '.vouch', 'policy.json')
      if (await isFile(candidate)) return { path: candidate, source: 'project' }
      const up = dirname(dir)
      if (up === dir) break
      dir = up
    }
  }
  return { path: policyPath(ctx), source: 'user' }
}

const isFile = (path: string) => stat(path).then((s) => s.isFile(), () => false)

/** Reads and checks the policy `findPolicy` names. */
export async function loadPolicy(ctx: Context, file: string | undefined, from?: string): Promise<{ policy: Policy; path: string }> {
  const { path, source } = await findPolicy(ctx, file, from)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    if (source === 'flag') throw usageError(`no policy file at ${file}`, 'check the path given to --policy')
    throw usageError(
      `no trust policy: ${path} does not exist, no .vouch/policy.json was found in this directory or a parent, and no --policy FILE was given`,
      '`vouch policy init` writes one that trusts your own key; `vouch policy --help` and docs/POLICY.md explain the rules',
    )
  }
  let value: unknown
  try {
    value = parseJson(stripComments(text), { maxDepth: 8 })
  } catch (e) {
    if (e instanceof ProtocolError) throw localError('bad_policy', `${path}: not JSON: ${e.message}`, 'the policy is JSON (comments allowed); see docs/POLICY.md')
    throw e
  }
  try {
    return { policy: ensurePolicy(value), path }
  } catch (e) {
    if (e instanceof PolicyError) throw localError('bad_policy', `${path}: ${e.message}`, '`vouch policy --help` lists the fields; docs/POLICY.md explains them')
    throw e
  }
}

/**
 * The policy a command that judges nothing still honours for its log checks (its `logs`): the one
 * `findPolicy` names, when that file exists; none otherwise. A broken one is an error, as for verify.
 */
export async function policyIfAny(ctx: Context): Promise<Policy | undefined> {
  const file = (ctx.values as { policy?: string }).policy
  const { path, source } = await findPolicy(ctx, file)
  if (source !== 'flag' && !(await isFile(path))) return undefined
  return (await loadPolicy(ctx, file)).policy
}

async function loadProofCache(ctx: Context): Promise<ProofCache> {
  let text: string
  try {
    text = await readFile(proofsPath(ctx), 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new ProofCache()
    throw e
  }
  try {
    return ProofCache.fromJSON(JSON.parse(text))
  } catch (e) {
    ctx.out.warn(`${proofsPath(ctx)}: ${(e as Error).message}; checking every proof again`)
    return new ProofCache()
  }
}

async function saveProofCache(ctx: Context, cache: ProofCache): Promise<void> {
  cache.prune()
  await mkdir(ctx.paths.dir, { recursive: true, mode: 0o700 })
  const path = proofsPath(ctx)
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, `${JSON.stringify(cache.toJSON())}\n`, { mode: 0o600 })
  await rename(tmp, path)
}

export interface Judgement {
  verdict: Verdict
  policyPath: string
  gathered: Gathered
  /** Results of the alias proofs checked (absent with --no-proofs or without alias rules). */
  aliasChecks?: AliasCheck[]
  /** The policy's witness requirement, and the relays whose answers it dropped (absent without `logs`). */
  logs?: { k: number; witnesses: string[]; notWitnessed: { relay: string; message: string }[] }
  /** Relays distrusted for a proven fork of their log, whose answers were dropped (absent when none). */
  forked?: { relay: string; message: string }[]
}

/**
 * Gathers from the relays what the policy needs for `subject`, checks alias proofs (cached in
 * <config dir>/proofs.json), and evaluates. Shared by `verify` and `fetch --policy`.
 */
export async function judge(ctx: Context, subject: string, o: { policy?: string; proofs?: boolean }): Promise<Judgement> {
  const { policy, path } = await loadPolicy(ctx, o.policy)
  const relays = await ctx.relays()
  const wantProofs = o.proofs !== false && policy.trust.aliases.length > 0
  const cache = wantProofs ? await loadProofCache(ctx) : undefined
  let aliasChecks: AliasCheck[] | undefined
  const log = await ctx.logs(policy)
  const source = querySource(relays, { timeoutMs: ctx.timeoutMs, log })
  const gathered = await gatherForVerdict(source.read, subject, policy, {
    ...(wantProofs && {
      proofs: async (claims) => {
        const r = await checkAliases(claims, { cache })
        aliasChecks = r.results
        return r.proofs
      },
    }),
  })
  if (cache && aliasChecks) await saveProofCache(ctx, cache).catch((e: Error) => ctx.out.warn(`could not save the proof cache: ${e.message}`))
  ctx.warnRelays(source.problems())
  if (!gathered.complete) ctx.out.warn(`the statements read may be incomplete, so the verdict may miss a yank or a revocation: ${gathered.incomplete.join('; ')}`)
  const timed = await withWitnessedTimes(log, policy, subject, gathered, { timeoutMs: ctx.timeoutMs })
  const verdict = evaluate(new FactIndex(timed.facts), policy, subject, { now: gathered.now, proofs: gathered.proofs })
  if (timed.node) verdict.explanation.children = [...(verdict.explanation.children ?? []), timed.node]
  const logs = policy.logs && {
    k: policy.logs.k,
    witnesses: policy.logs.witnesses.map((w) => w.key.slice(0, w.key.indexOf('+'))),
    notWitnessed: source.problems().flatMap((r) => (r.problem?.code === 'not_witnessed' ? [{ relay: r.relay, message: r.problem.message }] : [])),
  }
  // The witness requirement decided which relays' answers the verdict could rest on, so the explanation says so.
  if (logs) verdict.explanation.children = [...(verdict.explanation.children ?? []), logsExplanation(logs)]
  const forked = source.problems().flatMap((r) => (r.problem?.code === 'equivocated' ? [{ relay: r.relay, message: r.problem.message }] : []))
  if (forked.length) {
    const children = forked.map((f): Explanation => ({ rule: 'equivocated', ok: false, text: f.message }))
    verdict.explanation.children = [...(verdict.explanation.children ?? []), { rule: 'forked_relays', ok: false, text: `distrusted, answers dropped: ${forked.map((f) => f.relay).join(', ')} (proven to have forked their logs)`, children }]
  }
  return { verdict, policyPath: path, gathered, ...(aliasChecks && { aliasChecks }), ...(logs && { logs }), ...(forked.length && { forked }) }
}

function logsExplanation(l: NonNullable<Judgement['logs']>): Explanation {
  const rule = `${l.k} of ${l.witnesses.length} witness cosignature${l.witnesses.length === 1 ? '' : 's'} (${l.witnesses.join(', ')})`
  if (l.notWitnessed.length === 0) return { rule: 'logs', ok: true, text: `every relay read had a checkpoint with ${rule}` }
  return {
    rule: 'logs',
    ok: false,
    text: `not witnessed, answers dropped: ${l.notWitnessed.map((n) => n.relay).join(', ')} (the policy requires ${rule})`,
    children: l.notWitnessed.map((n) => ({ rule: 'not_witnessed', ok: false, text: n.message })),
  }
}

/** The verdict as text: a summary, then the explanation tree. */
export function describeVerdict(j: Judgement, extra: readonly [string, string][] = []): string {
  const v = j.verdict
  const summary = fields([
    ['verdict', v.verdict],
    ['subject', v.subject],
    ['source', v.source ?? '(none accepted)'],
    ...extra,
    ...v.builds.map((b): [string, string] => ['build', `${b.system || '(any system)'}: ${b.output} (${b.builders.length} builder${b.builders.length === 1 ? '' : 's'})`]),
    ['policy', j.policyPath],
    ['read', `${j.gathered.facts.length} statement${j.gathered.facts.length === 1 ? '' : 's'} in ${j.gathered.queries} quer${j.gathered.queries === 1 ? 'y' : 'ies'}${j.gathered.complete ? '' : ' (incomplete)'}`],
  ])
  const proofs = (j.aliasChecks ?? []).map((c) => `${c.ok ? '✓' : '✗'} ${c.did} is ${c.alias}: ${c.detail}`)
  return [summary, ...(proofs.length ? ['', 'alias proofs:', ...proofs.map((p) => `  ${p}`)] : []), '', renderExplanation(v.explanation)].join('\n')
}
