import { bridgeNpm, parsePackageSpec, type NpmBridgeResult } from '../../bridges/index.ts'
import { positiveInt } from '../args.ts'
import type { Context } from '../context.ts'
import { EXIT, usageError } from '../errors.ts'
import { fields } from '../output.ts'
import { bridgeOptions, bridging, plural, relaysLine } from '../bridging.ts'

interface Values {
  registry?: string
  upload?: boolean
  'dry-run'?: boolean
  concurrency?: string
}

export async function bridgeNpmCommand(ctx: Context, values: Values, packages: string[]): Promise<void> {
  for (const p of packages) {
    try {
      parsePackageSpec(p)
    } catch (e) {
      throw usageError((e as Error).message, 'write NAME, NAME@RANGE or @SCOPE/NAME@RANGE (quote ranges with spaces or > <)')
    }
  }
  const dryRun = values['dry-run'] === true
  const base = await bridgeOptions(ctx, dryRun)
  const results: NpmBridgeResult[] = []
  for (const p of packages) {
    const r = await bridging(() => bridgeNpm(p, { ...base, registry: values.registry, upload: values.upload === true, concurrency: positiveInt('concurrency', values.concurrency) }))
    ctx.warnRelays(r.relays)
    results.push(r)
  }
  const failed = results.flatMap((r) => r.versions.filter((v) => v.upload?.status === 'failed').map((v) => `${r.name}@${v.version}: ${v.upload!.detail}`))
  for (const f of failed) ctx.out.warn(`upload failed: ${f}`)
  for (const r of results) for (const x of r.skipped) ctx.out.warn(`skipped ${r.name}@${x.version}: ${x.message}`)
  const text = results.map((r) => {
    const count = (s: string) => r.versions.filter((v) => v.status === s).length
    const listed = r.versions.filter((v) => !v.withdrawn)
    const withdrawn = r.versions.length - listed.length
    const weak = r.versions.filter((v) => v.weak).length
    const deprecated = r.versions.filter((v) => v.deprecated !== undefined).length
    const replaced = r.versions.filter((v) => v.replaced?.length)
    const uploads = r.versions.filter((v) => v.upload)
    return fields([
      ['package', `${r.name} (${r.packument})`],
      ['versions', `${plural(listed.length, 'version')}: ${dryRun ? `${listed.filter((v) => v.status === 'planned').length} to publish` : `${count('published')} published`}, ${count('already')} already published${withdrawn ? `, ${withdrawn} ${dryRun ? 'to withdraw' : 'withdrawn'} (unpublished)` : ''}`],
      ['weak', weak ? `${plural(weak, 'version')} with only a sha1 shasum (meta.weak)` : undefined],
      ['deprecated', deprecated ? plural(deprecated, 'version') : undefined],
      ['changed', replaced.length ? replaced.map((v) => `${v.version} was ${v.replaced!.join(', ')}`).join('; ') : undefined],
      ['uploads', uploads.length ? ['stored', 'exists', 'skipped', 'failed'].map((s) => `${uploads.filter((v) => v.upload!.status === s).length} ${s}`).join(', ') : undefined],
      ['relays', relaysLine(r.relays, dryRun, r.statements.length)],
    ])
  })
  ctx.out.result(text.join('\n\n'), {
    dryRun,
    packages: results.map((r) => ({
      name: r.name,
      registry: r.registry,
      packument: r.packument,
      versions: r.versions,
      ...(r.skipped.length && { skipped: r.skipped }),
      ...(dryRun && { statements: r.statements.map((s) => s.statement) }),
      relays: r.relays.map((x) => ({ relay: x.relay, ok: x.ok, ...(x.problem && { problem: x.problem }) })),
    })),
  })
  if (failed.length) process.exitCode = EXIT.verification
}
