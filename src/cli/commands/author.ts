import { defineCommand, SIGNING_OPTIONS } from '../args.ts'
import { announce } from '../announce.ts'
import { usageError } from '../errors.ts'
import { did, pkg } from '../terms.ts'

export default defineCommand({
  usage: ['author add DID PACKAGE', 'author remove DID PACKAGE [--reason TEXT]'],
  summary: 'Name (add) or withdraw (remove) an author of a package',
  description: `Signs "DID is an author of PACKAGE" (an \`author\` claim), or its negative. PACKAGE has no
version: mylib (pkg:generic/mylib) or a purl such as pkg:npm/left-pad. Who may speak for a
package is each client's policy; an author claim by a package's existing authors is the
usual way to hand it on.`,
  options: {
    ...SIGNING_OPTIONS,
    reason: { type: 'string', value: 'TEXT', description: 'remove: why (signed)' },
  },
  args: [3, 3],
  examples: ['vouch author add did:key:z6Mk… mylib', 'vouch author remove did:key:z6Mk… mylib --reason "left the project"'],
  async run(ctx, values, [sub, d, p]) {
    if (sub !== 'add' && sub !== 'remove') throw usageError(`unknown subcommand ${JSON.stringify(sub)}`, 'use `vouch author add` or `vouch author remove`')
    if (sub === 'add' && values.reason !== undefined) throw usageError('--reason is for `author remove`')
    const subject = did(d!)
    const object = pkg(p!, 'forbidden')
    const r = await ctx.publishStatements([
      { subject, claim: 'author', object, not: sub === 'remove', ...(values.reason !== undefined && { meta: { reason: values.reason } }) },
    ])
    announce(ctx, r, [[sub === 'add' ? 'author' : 'not author', `${subject} of ${object}`]])
  },
})
