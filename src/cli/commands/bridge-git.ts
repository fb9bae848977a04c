import { stat } from 'node:fs/promises'
import { bridgeGit, BridgeError, type GitTagFact } from '../../bridges/index.ts'
import { describeObjects, GitRepoError, lsRemoteTags } from '../../git/repo.ts'
import type { Context } from '../context.ts'
import { usageError } from '../errors.ts'
import { fields } from '../output.ts'
import { bridgeOptions, bridging, plural, relaysLine } from '../bridging.ts'

interface Values {
  name?: string
  tag?: string
  'dry-run'?: boolean
}

/** git's failures as the bridge's: a repository that cannot be listed is not found, git missing is local. */
const fromGit = (source: string) => (e: unknown): never => {
  if (!(e instanceof GitRepoError)) throw e
  if (e.code === 'git_failed') throw new BridgeError('not_found', 'no_repository', `cannot list the tags of ${source}: ${e.message}`, { cause: e })
  throw new BridgeError(e.code === 'bad_ref' ? 'malformed' : 'unsupported', e.code, e.message, { cause: e })
}

/**
 * The repository URL as meta records it: credentials are never written into a public claim, and
 * a local path names nothing anyone else can read.
 */
function publicUrl(source: string): string | undefined {
  let u: URL
  try {
    u = new URL(source)
  } catch {
    return undefined
  }
  if (!['https:', 'http:', 'ssh:', 'git:'].includes(u.protocol)) return undefined
  u.username = ''
  u.password = ''
  return u.href
}

export async function bridgeGitCommand(ctx: Context, values: Values, targets: string[]): Promise<void> {
  if (targets.length !== 1) throw usageError('name one repository: a URL or a local clone')
  if (values.name === undefined) throw usageError('--name NAME is required: the package the tags are versions of', 'for example --name mylib, or --name pkg:github/owner/repo')
  const source = targets[0]!
  const dryRun = values['dry-run'] === true
  const base = await bridgeOptions(ctx, dryRun)
  const r = await bridging(async () => {
    const local = await stat(source).then((s) => s.isDirectory(), () => false)
    const listed = await lsRemoteTags(source, ctx.timeoutMs).catch(fromGit(source))
    const tags = values.tag === undefined ? listed.tags : listed.tags.filter((t) => t.tag === values.tag)
    if (tags.length === 0 || !listed.format) throw new BridgeError('not_found', 'no_tags', values.tag === undefined ? `${source} has no tags` : `${source} has no tag ${values.tag}`)
    let facts: GitTagFact[] = tags.map((t) => ({ tag: t.tag, commit: t.object }))
    const skipped: string[] = []
    if (local) {
      // A clone has the objects: keep tags that name commits, and add each commit's tree.
      const objects = await describeObjects(source, [...new Set(facts.map((f) => f.commit))], listed.format).catch(fromGit(source))
      facts = facts.flatMap((f) => {
        const o = objects.get(f.commit)
        if (o?.type !== 'commit') return skipped.push(`${f.tag} (${o?.type ?? 'missing'})`), []
        return [{ ...f, tree: o.tree }]
      })
    }
    const result = await bridgeGit(facts, { ...base, name: values.name!, format: listed.format, repository: publicUrl(source) })
    return { ...result, format: listed.format, skipped }
  })
  ctx.warnRelays(r.relays)
  if (r.skipped.length) ctx.out.warn(`tags that name no commit are not bridged: ${r.skipped.join(', ')}`)
  const rows = r.tags.map((t) => `${t.status.padEnd(9)}  ${t.subject}  ${t.commit.split(':')[3]}${t.tree ? ` tree ${t.tree.split(':')[3]}` : ''}${t.withdrawn.length ? ` (moved from ${t.withdrawn.map((w) => w.split(':')[3]).join(', ')})` : ''}`)
  ctx.out.result([fields([['repository', `${source} (${r.format}, ${plural(r.tags.length, 'tag')})`], ['relays', relaysLine(r.relays, dryRun, r.statements.length)]]), ...rows], {
    dryRun,
    repository: source,
    objectFormat: r.format,
    tags: r.tags,
    skipped: r.skipped,
    ...(dryRun && { statements: r.statements.map((s) => s.statement) }),
    relays: r.relays.map((x) => ({ relay: x.relay, ok: x.ok, ...(x.problem && { problem: x.problem }) })),
  })
}
