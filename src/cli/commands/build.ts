import { existsSync } from 'node:fs'
import { looksLikeHash } from '../../verify/index.ts'
import { defineCommand, SIGNING_OPTIONS } from '../args.ts'
import { announce } from '../announce.ts'
import { asPublished, contentJson, hashContent, presence, publishWithContent, type ContentReport } from '../content.ts'
import { usageError } from '../errors.ts'
import { bytes } from '../output.ts'
import { hash } from '../terms.ts'

export default defineCommand({
  usage: ['build SRC_HASH OUT_PATH|OUT_HASH [--system SYSTEM] [--builder NAME] [--no-upload]'],
  summary: 'Attest that building SRC_HASH produced an output',
  description: `Signs "building SRC_HASH produced OUT" (a \`build\` claim). Given a path, the output is hashed
(a directory as its NAR) and uploaded to the relays' blob caches in the same request as the
statement, so a relay keeps both or neither; given a hash, only the statement is published. Builders others trust (\`vouch trust-builder\`) make outputs that
clients can use without building.`,
  options: {
    ...SIGNING_OPTIONS,
    system: { type: 'string', value: 'SYSTEM', description: 'the platform built for, e.g. x86_64-linux' },
    builder: { type: 'string', value: 'NAME', description: 'the build tool, e.g. nix, npm, cargo' },
    'no-upload': { type: 'boolean', description: 'do not upload the output' },
  },
  args: [2, 2],
  examples: [
    'vouch build sha256-47DEQ…= ./result --system x86_64-linux --builder nix',
    'vouch build sha256:9f86d0…0f00a08 sha256:2c26b4…7ae',
  ],
  async run(ctx, values, [src, out]) {
    const source = hash(src!, 'SRC_HASH')
    const isHash = looksLikeHash(out!) && !existsSync(out!)
    if (!isHash && !existsSync(out!)) throw usageError(`${out} is neither an existing path nor a hash`)
    await ctx.relays()
    await ctx.signer()
    const content = isHash ? undefined : await hashContent(ctx, out!)
    const output = content?.hash ?? hash(out!, 'OUT_HASH')
    const present = content && !values['no-upload'] ? await presence(ctx, await ctx.relays(), content) : []
    const meta = {
      ...(values.system !== undefined && { system: values.system }),
      ...(values.builder !== undefined && { builder: values.builder }),
      ...(content && { format: content.format }),
    }
    const claim = { subject: source, claim: 'build', object: output, ...(Object.keys(meta).length && { meta }) }
    let r
    let uploads: ContentReport[] = []
    if (content && !values['no-upload']) {
      // The statement travels with the content: a relay holds both or neither.
      const [statement] = await ctx.signStatements([claim])
      uploads = await publishWithContent(ctx, statement!, content, present)
      r = asPublished(statement!, uploads)
    } else r = await ctx.publishStatements([claim])
    const took = r.result.relays.filter((x) => x.ok).map((x) => x.relay)
    announce(
      ctx,
      r,
      [
        ['built', `${source} -> ${output}`],
        ['content', content ? `${content.format === 'nar' ? 'directory (NAR)' : content.format}, ${bytes(content.size)}${values['no-upload'] ? ', not uploaded' : `, on ${uploads.filter((u) => u.ok).length} of ${took.length} relays`}` : undefined],
      ],
      { source, output, uploads: contentJson(uploads) },
    )
  },
})
