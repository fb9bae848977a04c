import { gitTreeOfPath, GitTreeError, type GitTreeHash } from '../git/fs.ts'
import { GitRepoError, repositoryOf, resolveTag } from '../git/repo.ts'
import type { GitId } from '../policy/index.ts'
import { formatGitoid, type GitObjectFormat, type JsonObject } from '../verify/index.ts'
import type { Context } from './context.ts'
import { CliError, EXIT, localError, usageError } from './errors.ts'

/**
 * The git side of `vouch publish --git` and `vouch verify --checkout`: a directory's tree id and,
 * inside a repository, the commit of the version's tag (read with git itself: src/git/repo.ts).
 */

export function objectFormat(value: string | undefined): GitObjectFormat | undefined {
  if (value === undefined || value === 'sha1' || value === 'sha256') return value
  throw usageError(`--object-format must be sha1 or sha256, got ${JSON.stringify(value)}`)
}

export async function treeOf(ctx: Context, path: string, format: GitObjectFormat): Promise<GitTreeHash> {
  const bar = ctx.out.progress(`git tree of ${path}`)
  return gitTreeOfPath(path, { format, onProgress: (p) => bar.update(p.bytes, `${p.files} files`) })
    .catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') throw localError('no_path', `${path} does not exist`)
      if (e instanceof GitTreeError) throw localError('not_hashable', e.message)
      throw e
    })
    .finally(() => bar.done())
}

const repoError = (e: unknown): never => {
  if (e instanceof GitRepoError) throw localError(e.code, e.message)
  throw e
}

export interface GitPublication {
  tree: GitTreeHash
  /** The tag whose commit is claimed, and the commit (gitoid); absent outside a repository or without the tag. */
  tag?: string
  commit?: string
  /** Why no commit is claimed, for the output. */
  noCommit?: string
  claims: { subject: string; claim: 'git-tree' | 'git-commit'; object: string; meta?: JsonObject }[]
}

/**
 * The git claims for publishing `subject` (version `version`) from directory `path`. The tree is
 * always claimed. The commit is claimed when `path` is in a repository with the tag (`--tag`, or
 * `v<version>` then `<version>`), in the repository's object format, and only when the tag holds
 * exactly the files being published: a commit claim beside a tree that differs from it would
 * vouch for two different things under one version, so a mismatch refuses the whole publish.
 */
export async function gitPublication(ctx: Context, subject: string, version: string, path: string, o: { format?: GitObjectFormat; tag?: string }): Promise<GitPublication> {
  const repo = await repositoryOf(path).catch(repoError)
  const format = o.format ?? repo?.format ?? 'sha1'
  const tree = await treeOf(ctx, path, format)
  const out: GitPublication = { tree, claims: [] }
  const candidates = o.tag !== undefined ? [o.tag] : [`v${version}`, version]
  if (!repo) {
    if (o.tag !== undefined) throw usageError(`--tag ${o.tag}: ${path} is not in a git repository`)
    out.noCommit = 'not in a git repository'
  } else {
    let found
    for (const tag of candidates) if ((found = await resolveTag(path, tag, repo).catch(repoError))) break
    if (!found) {
      if (o.tag !== undefined) throw usageError(`the repository at ${path} has no tag ${JSON.stringify(o.tag)} naming a commit`)
      out.noCommit = `no tag ${candidates.join(' or ')}`
    } else if (format !== repo.format) {
      out.noCommit = `the repository is ${repo.format}, the tree was asked in ${format}`
    } else if (found.tree !== tree.hex) {
      throw new CliError(
        EXIT.verification,
        'git_mismatch',
        `${path} is git tree ${tree.hex}, but tag ${found.tag} (commit ${found.commit}) holds ${found.tree ? `tree ${found.tree}` : 'no such directory'} there: the directory has changed, untracked or ignored files`,
        `publish from a clean checkout of the tag (git worktree add /tmp/${found.tag} ${found.tag}), or name another tag with --tag; nothing was published`,
      )
    } else {
      out.tag = found.tag
      out.commit = formatGitoid({ type: 'commit', format, hex: found.commit })
    }
  }
  const meta = out.tag !== undefined ? { tag: out.tag } : undefined
  out.claims.push({ subject, claim: 'git-tree', object: tree.gitoid, ...(meta && { meta }) })
  if (out.commit) out.claims.push({ subject, claim: 'git-commit', object: out.commit, meta: meta! })
  return out
}

export interface CheckoutCheck {
  ok: boolean
  rule: 'checkout'
  text: string
  dir: string
  /** The directory's tree id in each object format a trusted claim names. */
  trees: { format: GitObjectFormat; id: string; claimed: string; ok: boolean }[]
}

/**
 * Confirms directory `dir` against the accepted git-tree claims of a verdict: it is confirmed when
 * every format with an accepted tree id gives that id, and there is at least one.
 */
export async function checkCheckout(ctx: Context, dir: string, accepted: readonly GitId[], subject: string): Promise<CheckoutCheck> {
  const trees: CheckoutCheck['trees'] = []
  for (const a of accepted.filter((a) => a.claim === 'git-tree')) {
    const t = await treeOf(ctx, dir, a.format)
    trees.push({ format: a.format, id: t.gitoid, claimed: a.id, ok: t.gitoid === a.id })
  }
  if (trees.length === 0) return { ok: false, rule: 'checkout', dir, trees, text: `${dir} cannot be confirmed: no trusted git-tree claim for ${subject} (rule 6a)` }
  const bad = trees.filter((t) => !t.ok)
  const text = bad.length
    ? `${dir} does not match: ${bad.map((t) => `its ${t.format} tree is ${t.id}, the trusted git-tree claim is ${t.claimed}`).join('; ')}`
    : `${dir} is ${trees.map((t) => t.id).join(' and ')}, as trusted keys claim`
  return { ok: bad.length === 0, rule: 'checkout', dir, trees, text }
}
