import { randomBytes } from 'node:crypto'
import { rename, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { defineCommand, POLICY_OPTION } from '../args.ts'
import { BUNDLE_MEDIA_TYPE, lockfileDigest, makeBundle } from '../bundle.ts'
import { bundleBoundsOf } from '../bundle-bounds.ts'
import { bundleLogOf } from '../bundle-log.ts'
import type { TimeBound } from '../../client/index.ts'
import { checkLocked } from '../check.ts'
import { localError, usageError } from '../errors.ts'
import { openCheckInputs } from '../check-inputs.ts'

export default defineCommand({
  usage: ['bundle [LOCKFILE] -o FILE [--policy FILE]'],
  summary: 'Write every statement `vouch check` needs for a lockfile, for checking offline',
  description: `Runs the same reads as \`vouch check LOCKFILE\` against the relays (every statement verified)
and writes every statement the check used to FILE (${BUNDLE_MEDIA_TYPE}, docs/POLICY.md
"Offline bundles"), with each relay log's signed checkpoint and every statement's inclusion proof
in it. \`vouch check LOCKFILE --bundle FILE\` then judges the lockfile with no network:
it verifies every signature again and refuses a bundle whose statements were changed.

The bundle holds what the check needs under the policy in force when it is made (the same
default as \`vouch check\`); judging it later under another policy may find statements missing.`,
  options: {
    output: { type: 'string', short: 'o', value: 'FILE', description: 'where to write the bundle (replaced atomically)' },
    ...POLICY_OPTION,
  },
  args: [0, 1],
  examples: ['vouch bundle package-lock.json -o vouch-bundle.json', 'vouch check package-lock.json --bundle vouch-bundle.json'],
  async run(ctx, values, [file]) {
    if (values.output === undefined) throw usageError('name the bundle file with -o FILE', 'vouch bundle package-lock.json -o vouch-bundle.json')
    const { path, text, lock, policy } = await openCheckInputs(ctx, file, values.policy)
    const logs = await ctx.logs(policy)
    logs.keepEvidence()
    const keepBounds = new Map<string, TimeBound>()
    const run = await checkLocked(await ctx.relays(), lock.packages, policy, { timeoutMs: ctx.timeoutMs, log: logs, keepBounds })
    for (const p of run.problems) ctx.out.warn(p)
    const used = run.source.used()
    const log = bundleLogOf(await logs.evidence(used.map((s) => s.id), { timeoutMs: ctx.timeoutMs }))
    // Under revocation "witnessed", the witnessed times the check proved, so the offline check counts the same claims.
    const bounds = await bundleBoundsOf(logs, keepBounds, new Set(used.map((s) => s.id)), { timeoutMs: ctx.timeoutMs })
    for (const g of log) if (bounds.has(g.relay)) g.bounds = bounds.get(g.relay)
    const proven = new Set(log.flatMap((g) => g.entries.map((e) => e.statement))).size
    const bundle = makeBundle({ name: basename(path), sha256: await lockfileDigest(text) }, used, Date.now(), log)
    const out = resolve(values.output)
    // Written beside, then renamed: a reader never sees half a bundle.
    const tmp = join(dirname(out), `.${basename(out)}.${randomBytes(6).toString('hex')}.tmp`)
    try {
      await writeFile(tmp, `${JSON.stringify(bundle)}\n`)
      await rename(tmp, out)
    } catch (e) {
      await rm(tmp, { force: true })
      throw localError('write_failed', `cannot write ${out}: ${(e as Error).message}`)
    }
    if (proven < used.length) ctx.out.warn(`${used.length - proven} of ${used.length} statements come from relays without a log: the bundle carries no inclusion proof for them`)
    ctx.out.result(`${used.length} statements for ${lock.packages.length} packages written to ${out}, ${proven} with inclusion proofs in ${log.length} signed checkpoint${log.length === 1 ? '' : 's'}`, {
      bundle: out,
      statements: used.length,
      logChecked: proven,
      witnessedTimes: [...bounds.values()].reduce((n, l) => n + l.length, 0),
      checkpoints: log.length,
      packages: lock.packages.length,
      requests: run.requests,
    })
  },
})
