import { defineCommand, SIGNING_OPTIONS } from '../args.ts'
import { announce } from '../announce.ts'
import { ensureClaimedHash, ownClaims } from '../claimed.ts'
import { CliError, EXIT } from '../errors.ts'
import { hash, pkg } from '../terms.ts'

export default defineCommand({
  usage: ['yank NAME@VERSION [HASH] [--reason TEXT] [--force]'],
  summary: 'Withdraw a published version: NAME@VERSION is NOT HASH',
  description: `Signs the negative of a source claim. Clients stop using your earlier "NAME@VERSION is HASH"
(\`vouch fetch NAME@VERSION\` skips it); the content stays fetchable by its hash. Without HASH it
withdraws every standing source claim your key made for NAME@VERSION. A HASH that no source claim
for NAME@VERSION names (a statement id, say) is refused unless --force.`,
  options: {
    ...SIGNING_OPTIONS,
    reason: { type: 'string', value: 'TEXT', description: 'why, e.g. "CVE-2026-1234" (signed)' },
    force: { type: 'boolean', description: 'sign even if no source claim names HASH' },
  },
  args: [1, 2],
  examples: ['vouch yank mylib@1.2.3 sha256-47DEQ…= --reason "broken build"', 'vouch yank mylib@1.2.3                      # your own claims for it', 'vouch yank pkg:npm/left-pad@1.3.0 sha512-…'],
  async run(ctx, values, [name, h]) {
    const subject = pkg(name!, 'required')
    let objects: string[]
    if (h !== undefined) {
      objects = [hash(h)]
      if (!values.force) await ensureClaimedHash(ctx, objects[0]!, subject)
    } else {
      objects = await ownClaims(ctx, subject, (await ctx.signer()).did)
      if (objects.length === 0) throw new CliError(EXIT.notFound, 'not_found', `your key has no standing source claim for ${subject}; nothing was signed`, '`vouch query --subject NAME@VERSION --claim source` shows whose claims there are')
    }
    const meta = values.reason !== undefined && { meta: { reason: values.reason } }
    const r = await ctx.publishStatements(objects.map((object) => ({ subject, claim: 'source', object, not: true, ...meta })))
    announce(ctx, r, [['yanked', objects.map((o) => `${subject} is NOT ${o}`).join('; ')]])
  },
})
