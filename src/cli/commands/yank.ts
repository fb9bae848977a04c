import { defineCommand, SIGNING_OPTIONS } from '../args.ts'
import { announce } from '../announce.ts'
import { hash, pkg } from '../terms.ts'

export default defineCommand({
  usage: ['yank NAME@VERSION HASH [--reason TEXT]'],
  summary: 'Withdraw a published version: NAME@VERSION is NOT HASH',
  description: `Signs the negative of a source claim. Clients stop using your earlier "NAME@VERSION is HASH"
(\`vouch fetch NAME@VERSION\` skips it); the content stays fetchable by its hash.`,
  options: {
    ...SIGNING_OPTIONS,
    reason: { type: 'string', value: 'TEXT', description: 'why, e.g. "CVE-2026-1234" (signed)' },
  },
  args: [2, 2],
  examples: ['vouch yank mylib@1.2.3 sha256-47DEQ…= --reason "broken build"', 'vouch yank pkg:npm/left-pad@1.3.0 sha512-…'],
  async run(ctx, values, [name, h]) {
    const subject = pkg(name!, 'required')
    const object = hash(h!)
    const r = await ctx.publishStatements([{ subject, claim: 'source', object, not: true, ...(values.reason !== undefined && { meta: { reason: values.reason } }) }])
    announce(ctx, r, [['yanked', `${subject} is NOT ${object}`]])
  },
})
