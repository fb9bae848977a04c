import { defineCommand, SIGNING_OPTIONS } from '../args.ts'
import { usageError } from '../errors.ts'
import { term } from '../terms.ts'
import { announce } from '../announce.ts'

export default defineCommand({
  usage: ['claim SUBJECT CLAIM [OBJECT] [--not] [--meta JSON]'],
  summary: 'Sign and publish any claim',
  description: `The network defines no claims of its own (docs/PROTOCOL.md §5 lists the ones vouch uses);
this publishes whatever you say. SUBJECT and OBJECT may be a hash in any form (written as SRI),
a did:key, a purl or NAME@VERSION (written pkg:generic/NAME@VERSION), or any other string.
CLAIM is lower case: letters, digits and . _ : / -.`,
  options: {
    ...SIGNING_OPTIONS,
    not: { type: 'boolean', description: 'the negative form: SUBJECT is NOT CLAIM OBJECT' },
    meta: { type: 'string', value: 'JSON', description: 'signed extra detail, a JSON object (integers only)' },
  },
  args: [2, 3],
  examples: [
    'vouch claim mylib@1.2.3 tested-on linux-x86_64',
    'vouch claim sha256:9f86d0…0f00a08 license MIT',
    'vouch claim did:key:z6Mk… alias dns:example.org --not',
    `vouch claim mylib@1.2.3 audited --meta '{"firm":"Example Audits","report":"https://…"}'`,
  ],
  async run(ctx, values, [subject, claim, object]) {
    let meta
    if (values.meta !== undefined) {
      try {
        meta = JSON.parse(values.meta)
      } catch (e) {
        throw usageError(`--meta is not JSON: ${(e as Error).message}`)
      }
    }
    const s = { subject: term(subject!), claim: claim!, ...(object !== undefined && { object: term(object) }), not: values.not === true, ...(meta !== undefined && { meta }) }
    const r = await ctx.publishStatements([s])
    announce(ctx, r, [['claimed', `${s.subject} ${s.not ? 'NOT ' : ''}${s.claim}${s.object ? ` ${s.object}` : ''}`]])
  },
})
