import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { defineCommand, POLICY_OPTION } from '../args.ts'
import { BundleError, lockfileDigest, readBundle } from '../bundle.ts'
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
judged from the bundle alone.

Exit codes: 0 every package verified, 1 any package not verified (and the usual 2, 3, 5).`,
  options: {
    ...POLICY_OPTION,
    'only-fail': { type: 'boolean', description: 'list only the packages that are not verified' },
    bundle: { type: 'string', value: 'FILE', description: 'judge from an offline bundle (`vouch bundle`) instead of the relays: no network' },
  },
  args: [0, 1],
  examples: ['vouch check                              # ./package-lock.json', 'vouch check flake.lock --only-fail', 'vouch check --json | jq .summary', 'vouch check --bundle vouch-bundle.json      # offline'],
  async run(ctx, values, [file]) {
    const { path, text, lock, policy, policyPath } = await openCheckInputs(ctx, file, values.policy)
    const started = Date.now()
    let run
    if (values.bundle !== undefined) {
      // Offline: no relay is asked anything; every statement in the bundle is verified first.
      const { bundle, statements } = await openBundle(values.bundle)
      if (bundle.lockfile.sha256 !== (await lockfileDigest(text))) ctx.out.warn(`${values.bundle} was made for another version of ${bundle.lockfile.name}; packages it lacks will have no trusted claim`)
      run = await judgeLocked(memoryCheckSource(statements), lock.packages, policy)
    } else run = await checkLocked(await ctx.relays(), lock.packages, policy, { timeoutMs: ctx.timeoutMs, log: await ctx.logs(policy) })
    for (const p of run.problems) ctx.out.warn(p)
    const outcomes: Outcome[] = ['verified', 'no trusted claim', 'hash differs', 'yanked', 'conflict', 'unpinned']
    const summary = Object.fromEntries(outcomes.map((o) => [o, run.results.filter((r) => r.outcome === o).length]))
    const failing = run.results.filter((r) => r.outcome !== 'verified')
    const shown = values['only-fail'] ? failing : run.results
    const text2 = [
      `${lock.packages.length} packages in ${path} (${lock.kind} lockfile v${lock.version}), policy ${policyPath}`,
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
    if (e instanceof BundleError) throw e.code === 'tampered' ? new CliError(EXIT.verification, 'tampered_bundle', `${file}: ${e.message}`, 'make it again with `vouch bundle`') : localError('bad_bundle', `${file}: ${e.message}`)
    throw e
  }
}
