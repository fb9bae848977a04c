import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { defineCommand, POLICY_OPTION } from '../args.ts'
import { BundleError, lockfileDigest, readBundle } from '../bundle.ts'
import { checkBundleLog, type BundleLogReport } from '../bundle-log.ts'
import { checkLocked, judgeLocked, type Outcome } from '../check.ts'
import { openCheckInputs } from '../check-inputs.ts'
import { memoryCheckSource } from '../check-source.ts'
import { CliError, EXIT, localError, usageError } from '../errors.ts'

export default defineCommand({
  usage: ['check [LOCKFILE] [--policy FILE] [--only-fail] [--bundle FILE]'],
  summary: 'Judge every package a lockfile pins under your policy',
  description: `Reads LOCKFILE (default: package-lock.json, npm-shrinkwrap.json or flake.lock in the current
folder; npm lockfile versions 1, 2 and 3), asks the relays about every locked version at once
(POST /v1/statements/bulk, 1000 subjects a request), verifies every statement, and judges each
package with your trust policy (docs/POLICY.md): "verified" when the digest the lockfile pins is
the hash the policy accepts, else "no trusted claim", "hash differs", "yanked", "conflict" or
"unpinned" (the lockfile pins no digest). Claims in another algorithm than the locked digest's
are another form of the version and are set aside (docs/POLICY.md, "Lockfiles").

The policy is --policy FILE, else .vouch/policy.json in the lockfile's directory or a parent, else
<config dir>/policy.json (\`--policy\` alone: that one).

With --bundle FILE (written by \`vouch bundle\`) no relay is asked: every statement in the bundle
is verified again, a changed statement fails the whole check (exit 1), and the packages are
judged from the bundle alone. Each statement's inclusion proof is checked against its relay's
signed checkpoint in the bundle (a checkpoint that does not verify fails the check; a statement
whose proof fails is dropped and named). Offline, consistency with the checkpoints you keep cannot
be checked, and a statement left out of a bundle (a yank) cannot be noticed: docs/POLICY.md.

Exit codes: 0 every package verified, 1 any package not verified (and the usual 2, 3, 5).`,
  options: {
    ...POLICY_OPTION,
    'only-fail': { type: 'boolean', description: 'list only the packages that are not verified' },
    bundle: { type: 'string', value: 'FILE', description: 'judge from an offline bundle (`vouch bundle`) instead of the relays: no network' },
  },
  args: [0, 1],
  examples: ['vouch check                              # ./package-lock.json', 'vouch check flake.lock --only-fail', 'vouch check --json | jq .summary', 'vouch check --bundle vouch-bundle.json      # offline'],
  async run(ctx, values, [file]) {
    const started = Date.now()
    // The bundle's signatures are checked on WebCrypto's threads while this one reads the
    // lockfile and policy; a bad lockfile is still the error reported first.
    const opening = values.bundle !== undefined ? openBundle(values.bundle) : undefined
    opening?.catch(() => {})
    const { path, text, lock, policy, policyPath } = await openCheckInputs(ctx, file, values.policy)
    let run
    let logReport: BundleLogReport | undefined
    if (values.bundle !== undefined) {
      // Offline: no relay is asked anything; every statement in the bundle is verified first.
      const { bundle, statements } = await opening!
      if (bundle.lockfile.sha256 !== (await lockfileDigest(text))) ctx.out.warn(`${values.bundle} was made for another version of ${bundle.lockfile.name}; packages it lacks will have no trusted claim`)
      const { fileCheckpointStore } = await import('../logs.ts')
      const checked = await checkBundleLog(bundle.log, statements, fileCheckpointStore(join(ctx.paths.dir, 'logs'))).catch((e) => {
        throw e instanceof BundleError ? bundleFailure(values.bundle!, e) : e
      })
      logReport = checked.report
      for (const d of logReport.dropped) ctx.out.warn(`${values.bundle}: dropped ${d.id}: ${d.message}`)
      if (logReport.notLogChecked > 0) ctx.out.warn(`${values.bundle}: ${logReport.notLogChecked} of ${statements.length} statements are not log-checked (the bundle carries no inclusion proof for them)`)
      // Under revocation "witnessed", the witnessed times the bundle carries, proven offline as online.
      const l = policy.revocation === 'witnessed' ? policy.logs : undefined
      const timed = l && (await (await import('../bundle-bounds.ts')).checkBundleBounds(bundle.log, checked.statements, l, policy.clockSkewMs).catch((e) => {
        throw e instanceof BundleError ? bundleFailure(values.bundle!, e) : e
      }))
      for (const r of timed?.refused ?? []) ctx.out.warn(`${values.bundle}: no witnessed time for ${r.id}: ${r.message}`)
      run = await judgeLocked(memoryCheckSource(checked.statements), lock.packages, policy, { bounds: timed?.bounds ?? new Map() })
    } else run = await checkLocked(await ctx.relays(), lock.packages, policy, { timeoutMs: ctx.timeoutMs, log: await ctx.logs(policy) })
    for (const p of run.problems) ctx.out.warn(p)
    const outcomes: Outcome[] = ['verified', 'no trusted claim', 'hash differs', 'yanked', 'conflict', 'unpinned']
    const summary = Object.fromEntries(outcomes.map((o) => [o, run.results.filter((r) => r.outcome === o).length]))
    const failing = run.results.filter((r) => r.outcome !== 'verified')
    const shown = values['only-fail'] ? failing : run.results
    const text2 = [
      `${lock.packages.length} packages in ${path} (${lock.kind} lockfile v${lock.version}), policy ${policyPath}`,
      ...(logReport ? [logLine(logReport)] : []),
      outcomes.filter((o) => summary[o]).map((o) => `${o}: ${summary[o]}`).join(', ') || 'nothing locked',
      ...shown.map((r) => (r.outcome === 'verified' ? `  ok    ${r.subject}` : `  FAIL  ${r.subject}: ${r.outcome}${r.rule ? ` [${r.rule}] ${r.reason}` : ''}`)),
    ]
    ctx.out.result(text2, {
      lockfile: path,
      kind: lock.kind,
      lockfileVersion: lock.version,
      policy: policyPath,
      summary,
      packages: shown,
      skipped: lock.skipped,
      requests: run.requests,
      statements: run.statements,
      ...(logReport && { log: logReport }),
      ms: Date.now() - started,
    })
    if (failing.length) process.exitCode = EXIT.verification
  },
})

async function openBundle(file: string) {
  let text: string
  try {
    text = await readFile(resolve(file), 'utf8')
  } catch (e) {
    throw usageError(`cannot read ${file}: ${(e as Error).message}`)
  }
  try {
    return await readBundle(text)
  } catch (e) {
    throw e instanceof BundleError ? bundleFailure(file, e) : e
  }
}

function bundleFailure(file: string, e: BundleError): CliError {
  if (e.code === 'tampered') return new CliError(EXIT.verification, 'tampered_bundle', `${file}: ${e.message}`, 'make it again with `vouch bundle`')
  if (e.code === 'wrong_log') return new CliError(EXIT.verification, 'wrong_log', `${file}: ${e.message}`, 'the bundle was not made from the relay log you know; make it again with `vouch bundle`')
  return localError('bad_bundle', `${file}: ${e.message}`)
}

/** What the bundle's log evidence showed, and what an offline check cannot show. */
function logLine(r: BundleLogReport): string {
  if (r.logs.length === 0) return 'log: not log-checked (the bundle carries no inclusion proofs)'
  const kept = r.logs.filter((l) => l.kept !== 'none').length
  return `log: ${r.logChecked} statements included in ${r.logs.length} signed checkpoint${r.logs.length === 1 ? '' : 's'}${kept ? ` (${kept} of the same log you keep)` : ''}; consistency with your kept checkpoints is not checked offline`
}
