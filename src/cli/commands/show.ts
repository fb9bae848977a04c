import { getStatement } from '../../client/index.ts'
import type { Statement } from '../../verify/index.ts'
import { defineCommand } from '../args.ts'
import { fields } from '../output.ts'
import { hash } from '../terms.ts'

export function describe(id: string, s: Statement, relay?: string): string {
  return fields([
    ['id', id],
    ['actor', s.actor],
    ['subject', s.subject],
    ['claim', `${s.not ? 'NOT ' : ''}${s.claim}`],
    ['object', s.object],
    ['time', new Date(s.time).toISOString()],
    ['meta', s.meta && JSON.stringify(s.meta)],
    ['relay', relay],
  ])
}

export default defineCommand({
  usage: ['show ID'],
  summary: 'Show one statement by its id, verified',
  description: `Asks the relays in turn for the statement, checks its signature and recomputes its id; a
relay that serves anything else is reported and the next one asked.`,
  options: {},
  args: [1, 1],
  examples: ['vouch show sha256-Qm1x…=', 'vouch show sha256:4d2c…e1 --json | jq .statement'],
  async run(ctx, _values, [id]) {
    const want = hash(id!, 'ID')
    const r = await getStatement(await ctx.relays(), want, { timeoutMs: ctx.timeoutMs, log: await ctx.logs() })
    ctx.warnRelays(r.relays)
    ctx.out.result(describe(r.id, r.statement, r.relay), { id: r.id, statement: r.statement, relay: r.relay })
  },
})
