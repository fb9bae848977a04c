import { packageSubject } from '../../client/index.ts'
import { defineCommand, SIGNING_OPTIONS } from '../args.ts'
import { asPublished, contentJson, hashContent, publishWithContent, readyToPublish, type ContentReport } from '../content.ts'
import { usageError } from '../errors.ts'
import { bytes, fields } from '../output.ts'

export default defineCommand({
  usage: ['publish NAME@VERSION PATH [--no-upload] [--key NAME] [--quorum N]'],
  summary: 'Publish NAME@VERSION as the content at PATH, and upload the content',
  description: `Hashes PATH (a directory as its NAR, a file as its bytes), checks that every relay stores
content that large (its advertised blob limit; if one does not, nothing is sent), signs
"NAME@VERSION is <hash>" (a \`source\` claim) and sends it to every relay together with the
content, in one upload that the relay stores whole or not at all (a relay that holds the content
already gets the statement alone), so \`vouch fetch NAME@VERSION\` works anywhere and no relay
ever names content it refused. NAME@VERSION means the purl
pkg:generic/NAME@VERSION; other ecosystems' purls (pkg:npm/left-pad@1.3.0) pass through.
Publishing again is harmless: it signs the same fact anew and skips relays that hold the content.`,
  options: {
    ...SIGNING_OPTIONS,
    'no-upload': { type: 'boolean', description: 'publish the statement only, not the content' },
  },
  args: [2, 2],
  examples: [
    'vouch publish mylib@1.2.3 ./mylib                 # a directory, as its NAR',
    'vouch publish mylib@1.2.3 dist/mylib-1.2.3.tgz     # a tarball, as its bytes',
    'vouch publish pkg:npm/left-pad@1.3.0 left-pad-1.3.0.tgz --quorum 2',
    'vouch publish mylib@1.2.3 ./mylib --json | jq -r .id',
  ],
  async run(ctx, values, [name, path]) {
    let subject: string
    try {
      subject = packageSubject(name!, 'required')
    } catch (e) {
      throw usageError((e as Error).message)
    }
    // Fail on configuration before spending time hashing.
    await ctx.relays()
    await ctx.signer()
    const content = await hashContent(ctx, path!)
    const relays = await ctx.relays()
    const present = values['no-upload'] ? [] : await readyToPublish(ctx, relays, content)
    const claim = { subject, claim: 'source', object: content.hash, meta: { format: content.format } }
    let published
    let uploads: ContentReport[] = []
    if (values['no-upload']) published = await ctx.publishStatements([claim])
    else {
      const [statement] = await ctx.signStatements([claim])
      uploads = await publishWithContent(ctx, statement!, content, present)
      published = asPublished(statement!, uploads)
    }
    const { statements, result } = published
    const took = result.relays.filter((r) => r.ok).map((r) => r.relay)
    const stored = uploads.filter((u) => u.ok).length
    const id = statements[0]!.id
    ctx.out.result(
      fields([
        ['published', `${subject} is ${content.hash}`],
        ['statement', id],
        ['content', `${content.format === 'nar' ? 'directory (NAR)' : content.format}, ${bytes(content.size)}${values['no-upload'] ? ', not uploaded' : `, on ${stored} of ${took.length} relays`}`],
        ['relays', `${took.length} of ${result.relays.length} took the statement`],
      ]),
      {
        id,
        subject,
        hash: content.hash,
        format: content.format,
        size: content.size,
        statement: statements[0]!.statement,
        relays: result.relays.map((r) => ({ relay: r.relay, ok: r.ok, status: r.results?.[0]?.status ?? null, ...(r.problem && { problem: r.problem }) })),
        uploads: contentJson(uploads),
      },
    )
  },
})
