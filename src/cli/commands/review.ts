import { defineCommand, SIGNING_OPTIONS } from '../args.ts'
import { announce } from '../announce.ts'
import { usageError } from '../errors.ts'
import { hash } from '../terms.ts'
import { ensureClaimedHash } from '../claimed.ts'

const VERDICTS = ['pass', 'fail', 'concern']

export default defineCommand({
  usage: ['review HASH --verdict pass|fail|concern [--comment TEXT] [--scope TEXT]'],
  summary: 'Publish your review of the content named HASH',
  description: `Signs "I reviewed HASH: VERDICT" (a \`review\` claim). Review the content, not a name: a
name can be re-pointed, a hash cannot. \`vouch query --subject HASH --claim review\` shows
everyone's reviews of it. A HASH that no source claim names (a statement id, say) is refused
unless --force.`,
  options: {
    ...SIGNING_OPTIONS,
    verdict: { type: 'string', value: 'VERDICT', description: 'pass, fail or concern (required)' },
    comment: { type: 'string', value: 'TEXT', description: 'a short comment, signed with the verdict' },
    scope: { type: 'string', value: 'TEXT', description: 'what was reviewed, e.g. "full", "diff from 1.2.2", "install scripts"' },
    force: { type: 'boolean', description: 'sign even if no source claim names HASH' },
  },
  args: [1, 1],
  examples: [
    'vouch review sha256-47DEQ…= --verdict pass --scope "full source"',
    'vouch review sha256:9f86d0…0f00a08 --verdict concern --comment "postinstall downloads a binary"',
  ],
  async run(ctx, values, [h]) {
    const subject = hash(h!)
    if (!values.verdict || !VERDICTS.includes(values.verdict)) throw usageError(`--verdict must be one of ${VERDICTS.join(', ')}${values.verdict ? `, got ${JSON.stringify(values.verdict)}` : ''}`)
    if (!values.force) await ensureClaimedHash(ctx, subject)
    const meta = { ...(values.comment !== undefined && { comment: values.comment }), ...(values.scope !== undefined && { scope: values.scope }) }
    const r = await ctx.publishStatements([{ subject, claim: 'review', object: values.verdict, ...(Object.keys(meta).length && { meta }) }])
    announce(ctx, r, [['reviewed', `${subject}: ${values.verdict}`]])
  },
})
