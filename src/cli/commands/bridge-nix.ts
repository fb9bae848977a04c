import { bridgeNix } from '../../bridges/index.ts'
import { positiveInt } from '../args.ts'
import type { Context } from '../context.ts'
import { fields } from '../output.ts'
import { bridgeOptions, bridging, relaysLine } from '../bridging.ts'

interface Values {
  cache?: string
  'cache-key'?: string
  'dry-run'?: boolean
  concurrency?: string
}

export async function bridgeNixCommand(ctx: Context, values: Values, targets: string[]): Promise<void> {
  const dryRun = values['dry-run'] === true
  const base = await bridgeOptions(ctx, dryRun)
  const r = await bridging(() => bridgeNix(targets, { ...base, cache: values.cache, cacheKey: values['cache-key'], concurrency: positiveInt('concurrency', values.concurrency) }))
  ctx.warnRelays(r.relays)
  const rows = r.paths.map((p) => `${p.status.padEnd(9)}  ${p.storePath}  ${p.narHash}`)
  ctx.out.result(
    [fields([['cache', `${r.cache} (signatures by ${r.key.split(':')[0]} verified)`], ['relays', relaysLine(r.relays, dryRun, r.statements.length)]]), ...rows],
    {
      dryRun,
      cache: r.cache,
      key: r.key,
      paths: r.paths,
      ...(dryRun && { statements: r.statements.map((s) => s.statement) }),
      relays: r.relays.map((x) => ({ relay: x.relay, ok: x.ok, ...(x.problem && { problem: x.problem }) })),
    },
  )
}
