import { defineCommand, SIGNING_OPTIONS } from '../args.ts'
import { announce } from '../announce.ts'
import { did } from '../terms.ts'

export default defineCommand({
  usage: ['trust-builder DID [--scope SCOPE] [--not]'],
  summary: 'Declare a key a trusted builder (or withdraw it with --not)',
  description: `Signs "DID is a trusted builder" (\`trusted-builder\`), optionally limited to a scope such as
pkg:npm. Others who trust you may then use that builder's \`build\` claims.`,
  options: {
    ...SIGNING_OPTIONS,
    scope: { type: 'string', value: 'SCOPE', description: 'limit the trust, e.g. pkg:npm' },
    not: { type: 'boolean', description: 'withdraw the trust' },
  },
  args: [1, 1],
  examples: ['vouch trust-builder did:key:z6Mk…', 'vouch trust-builder did:key:z6Mk… --scope pkg:npm', 'vouch trust-builder did:key:z6Mk… --not'],
  async run(ctx, values, [d]) {
    const subject = did(d!)
    const r = await ctx.publishStatements([{ subject, claim: 'trusted-builder', ...(values.scope !== undefined && { object: values.scope }), not: values.not === true }])
    announce(ctx, r, [[values.not ? 'untrusted' : 'trusted builder', `${subject}${values.scope ? ` for ${values.scope}` : ''}`]])
  },
})
