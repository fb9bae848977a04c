import type { PublishResult } from '../client/index.ts'
import type { VerifiedStatement } from '../verify/index.ts'
import type { Context } from './context.ts'
import { fields } from './output.ts'

/** The result of a signing command: what was said, the statement id, how many relays took it. */
export function announce(ctx: Context, r: { result: PublishResult; statements: VerifiedStatement[] }, rows: [string, string | undefined][], extra: Record<string, unknown> = {}): void {
  const took = r.result.relays.filter((x) => x.ok).length
  const v = r.statements[0]!
  ctx.out.result(fields([...rows, ['statement', v.id], ['relays', `${took} of ${r.result.relays.length} took it`]]), {
    id: v.id,
    statement: v.statement,
    ...extra,
    relays: r.result.relays.map((x) => ({ relay: x.relay, ok: x.ok, status: x.results?.[0]?.status ?? null, ...(x.problem && { problem: x.problem }) })),
  })
}
