import { defineCommand, SIGNING_OPTIONS } from '../args.ts'
import { announce } from '../announce.ts'
import { did, pkg } from '../terms.ts'

export default defineCommand({
  usage: ['revoke DID PACKAGE [--reason TEXT]'],
  summary: "Revoke a key's authorship of a package (a lost or compromised key)",
  description: `Signs "DID is NOT an author of PACKAGE" (\`author\` with "not": true), the same statement as
\`vouch author remove\`. Publish it from another author's key, or from the key itself while
you still hold it.`,
  options: {
    ...SIGNING_OPTIONS,
    reason: { type: 'string', value: 'TEXT', description: 'why, e.g. "key compromised" (signed)' },
  },
  args: [2, 2],
  examples: ['vouch revoke did:key:z6Mk… mylib --reason "key compromised"', 'vouch revoke did:key:z6Mk… pkg:npm/left-pad'],
  async run(ctx, values, [d, p]) {
    const subject = did(d!)
    const object = pkg(p!, 'forbidden')
    const r = await ctx.publishStatements([{ subject, claim: 'author', object, not: true, ...(values.reason !== undefined && { meta: { reason: values.reason } }) }])
    announce(ctx, r, [['revoked', `${subject} as author of ${object}`]])
  },
})
