import { getStatement, liveClaims, query } from '../client/index.ts'
import type { Context } from './context.ts'
import { CliError, EXIT } from './errors.ts'

/**
 * A claim about a hash no source claim names is almost always a mistake: `publish` prints the
 * statement id and the content hash, both `sha256-…`, and a yank or review of the id signs
 * something true of nothing, and says "yanked". So the hash must be one a source claim names
 * (for `subject`, when given) unless the user says --force; a statement id is called that.
 */
export async function ensureClaimedHash(ctx: Context, object: string, subject?: string): Promise<void> {
  const relays = await ctx.relays()
  const r = await query(relays, { claim: 'source', object, ...(subject !== undefined && { subject }) }, { timeoutMs: ctx.timeoutMs, limit: 50 })
  ctx.warnRelays(r.relays)
  if (r.statements.some((s) => !s.statement.not)) return
  const isStatement = await getStatement(relays, object, { timeoutMs: ctx.timeoutMs }).then(
    () => true,
    () => false,
  )
  const what = subject ? `no source claim says ${subject} is ${object}` : `no source claim names ${object}`
  throw new CliError(
    EXIT.notFound,
    isStatement ? 'statement_id' : 'unclaimed_hash',
    isStatement ? `${object} is the id of a statement, not a content hash; ${what}` : `${what}; nothing was signed`,
    isStatement ? 'use the content hash (`vouch publish` prints it as "published … is HASH"; `vouch query --subject NAME@VERSION --claim source`)' : '--force signs it anyway',
  )
}

/** The hashes your own standing source claims give `subject`: what `vouch yank NAME@VERSION` withdraws. */
export async function ownClaims(ctx: Context, subject: string, actor: string): Promise<string[]> {
  const r = await query(await ctx.relays(), { subject, claim: 'source', actor }, { timeoutMs: ctx.timeoutMs })
  ctx.warnRelays(r.relays)
  return liveClaims(r.statements).map((c) => c.object)
}
