import { query, type Filter } from '../../client/index.ts'
import { defineCommand, positiveInt } from '../args.ts'
import { CliError, EXIT, usageError } from '../errors.ts'
import { strangers } from '../context.ts'
import { did, term } from '../terms.ts'

export default defineCommand({
  usage: ['query [--subject S] [--claim C] [--object O] [--actor DID] [--limit N]'],
  summary: 'Find statements; every answer verified, merged across relays',
  description: `Asks every relay, verifies each statement locally (signature, shape, and that it matches the
query), drops and reports what fails, and merges the rest by id. Prints one statement a line:
id, time, actor, subject, claim, object. At least one filter is needed. NAME@VERSION means
pkg:generic/NAME@VERSION; hashes may be written in any form.
Exits 1 if no relay gave a clean answer because one sent statements that do not verify.`,
  options: {
    subject: { type: 'string', value: 'S', description: 'statements about S' },
    claim: { type: 'string', value: 'C', description: 'with claim C (source, build, review, author, …)' },
    object: { type: 'string', value: 'O', description: 'with object O' },
    actor: { type: 'string', value: 'DID', description: 'signed by DID' },
    limit: { type: 'string', value: 'N', description: 'read at most N statements from each relay (default 1000)' },
  },
  args: [0, 0],
  examples: [
    'vouch query --subject mylib@1.2.3 --claim source     # who says mylib@1.2.3 is what',
    'vouch query --subject sha256-47DEQ…= --claim review   # reviews of that content',
    'vouch query --actor did:key:z6Mk… --json | jq ".statements[].id"',
  ],
  async run(ctx, values) {
    const filter: Filter = {
      ...(values.subject !== undefined && { subject: term(values.subject) }),
      ...(values.claim !== undefined && { claim: values.claim }),
      ...(values.object !== undefined && { object: term(values.object) }),
      ...(values.actor !== undefined && { actor: did(values.actor, '--actor') }),
    }
    if (Object.keys(filter).length === 0) throw usageError('give at least one of --subject, --claim, --object, --actor')
    const r = await query(await ctx.relays(), filter, { timeoutMs: ctx.timeoutMs, limit: positiveInt('limit', values.limit) ?? 1000, log: await ctx.logs() })
    if (r.statements.length === 0) {
      // "no statements match" from a URL that is no relay at all (an HTML page, a 404) would mislead.
      const odd = await strangers(r.relays)
      if (odd.length) throw new CliError(EXIT.usage, 'not_a_relay', odd.join('; '), 'check the URL (`vouch relay list`); a vouch relay answers /.well-known/vouch')
    }
    ctx.warnRelays(r.relays)
    for (const rep of r.relays) if (rep.truncated) ctx.out.warn(`${rep.relay} has more than --limit matching statements; raise --limit to see them all`)
    if (r.statements.length === 0) ctx.out.note('no statements match')
    ctx.out.result(
      r.statements.map(({ id, statement: s }) => [id, new Date(s.time).toISOString(), s.actor, s.subject, `${s.not ? 'NOT ' : ''}${s.claim}`, s.object ?? ''].join('  ').trimEnd()),
      {
        filter,
        statements: r.statements.map((x) => ({ id: x.id, statement: x.statement, relays: x.relays })),
        relays: r.relays.map((x) => ({ relay: x.relay, ok: x.ok, received: x.received, dropped: x.dropped, truncated: x.truncated, ...(x.problem && { problem: x.problem }) })),
      },
    )
    // Lying relays were reported above; if none answered cleanly, the answer cannot be trusted.
    if (!r.relays.some((x) => x.ok) && r.relays.some((x) => x.problem?.kind === 'invalid')) process.exitCode = EXIT.verification
  },
})
