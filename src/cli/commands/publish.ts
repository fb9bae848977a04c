import { packageSubject } from '../../client/index.ts'
import { defineCommand, SIGNING_OPTIONS } from '../args.ts'
import { asPublished, contentJson, hashContent, postAlongside, publishWithContent, readyToPublish, type ContentReport } from '../content.ts'
import { usageError } from '../errors.ts'
import { gitPublication, objectFormat, type GitPublication } from '../git.ts'
import { bytes, fields } from '../output.ts'

/** The version of a purl, decoded: what its tag is named after. */
const versionOf = (subject: string) => {
  const path = subject.replace(/[?#].*$/, '')
  return decodeURIComponent(path.slice(path.lastIndexOf('@') + 1))
}

export default defineCommand({
  usage: ['publish NAME@VERSION PATH [--no-upload] [--key NAME] [--quorum N]', 'publish NAME@VERSION DIR --git [--tag TAG] [--object-format sha1|sha256]'],
  summary: 'Publish NAME@VERSION as the content at PATH, and upload the content',
  description: `Hashes PATH (a directory as its NAR, a file as its bytes), checks that every relay stores
content that large (its advertised blob limit; if one does not, nothing is sent), signs
"NAME@VERSION is <hash>" (a \`source\` claim) and sends it to every relay together with the
content, in one upload that the relay stores whole or not at all (a relay that holds the content
already gets the statement alone), so \`vouch fetch NAME@VERSION\` works anywhere and no relay
ever names content it refused. NAME@VERSION means the purl
pkg:generic/NAME@VERSION; other ecosystems' purls (pkg:npm/left-pad@1.3.0) pass through.
Publishing again is harmless: it signs the same fact anew and skips relays that hold the content.

With --git (a directory only), the same publish also claims the directory's git tree
(\`git-tree\`, the id \`vouch hash --git\` prints) and, inside a repository, the commit its tag
points to (\`git-commit\`): the tag is --tag, else v<VERSION>, else <VERSION>. The commit is
claimed only when the tag holds exactly the files published; a tag whose tree differs stops the
publish (exit 1, nothing sent). The object format is the repository's, else --object-format
(sha1 by default). Tags are read by running git.`,
  options: {
    ...SIGNING_OPTIONS,
    'no-upload': { type: 'boolean', description: 'publish the statement only, not the content' },
    git: { type: 'boolean', description: "also claim the directory's git tree and its tag's commit" },
    tag: { type: 'string', value: 'TAG', description: 'with --git: the tag whose commit to claim (default v<VERSION> or <VERSION>)' },
    'object-format': { type: 'string', value: 'FORMAT', description: 'with --git: sha1 or sha256 (default: the repository\'s, else sha1)' },
  },
  args: [2, 2],
  examples: [
    'vouch publish mylib@1.2.3 ./mylib                 # a directory, as its NAR',
    'vouch publish mylib@1.2.3 dist/mylib-1.2.3.tgz     # a tarball, as its bytes',
    'vouch publish pkg:npm/left-pad@1.3.0 left-pad-1.3.0.tgz --quorum 2',
    'vouch publish mylib@1.2.3 ./mylib --json | jq -r .id',
    'vouch publish mylib@1.2.3 . --git                  # NAR, git tree, and the commit of tag v1.2.3',
  ],
  async run(ctx, values, [name, path]) {
    let subject: string
    try {
      subject = packageSubject(name!, 'required')
    } catch (e) {
      throw usageError((e as Error).message)
    }
    if (!values.git) for (const o of ['tag', 'object-format'] as const) if (values[o] !== undefined) throw usageError(`--${o} applies to --git only`)
    const format = objectFormat(values['object-format'])
    // Fail on configuration before spending time hashing.
    await ctx.relays()
    await ctx.signer()
    const content = await hashContent(ctx, path!)
    if (values.git && content.format !== 'nar') throw usageError('--git needs a directory: a git tree names files, not an archive')
    const git: GitPublication | undefined = values.git ? await gitPublication(ctx, subject, versionOf(subject), content.path, { format, tag: values.tag }) : undefined
    const relays = await ctx.relays()
    const present = values['no-upload'] ? [] : await readyToPublish(ctx, relays, content)
    const claim = { subject, claim: 'source', object: content.hash, meta: { format: content.format } }
    let published
    let uploads: ContentReport[] = []
    if (values['no-upload']) published = await ctx.publishStatements([claim, ...(git?.claims ?? [])])
    else {
      // The source claim travels with the content (both or neither on each relay); the git claims,
      // which name no content, follow to the relays that took it.
      const signed = await ctx.signStatements([claim, ...(git?.claims ?? [])])
      uploads = await publishWithContent(ctx, signed[0]!, content, present)
      published = asPublished(signed[0]!, uploads)
      if (signed.length > 1) await postAlongside(ctx, uploads.filter((u) => u.ok).map((u) => u.relay), signed.slice(1))
      published.statements = signed
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
        ...(git ? [['git tree', git.tree.hex] as [string, string], ['git commit', git.commit ? `${git.commit.slice(git.commit.lastIndexOf(':') + 1)} (tag ${git.tag})` : `not claimed: ${git.noCommit}`] as [string, string]] : []),
        ['relays', `${took.length} of ${result.relays.length} took the ${statements.length === 1 ? 'statement' : `${statements.length} statements`}`],
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
        ...(git && { git: { tree: git.tree.gitoid, objectFormat: git.tree.format, ...(git.commit ? { commit: git.commit, tag: git.tag } : { noCommit: git.noCommit }), ids: statements.slice(1).map((s) => s.id) } }),
      },
    )
  },
})
