/**
 * Reading a repository's refs (Node only) by running the real `git`, with a fixed argv and no
 * shell. Why not read `.git` ourselves: a tag may be packed (packed-refs), annotated (a tag object
 * to peel, often inside a delta-compressed pack), or in a sha256 repository; git already reads all
 * of that exactly, and a second reader would be a second place to be wrong about which commit a
 * tag names. What comes back is checked as strictly as a statement: ids must be full hex of the
 * repository's object format.
 *
 * Every call passes `--` or a fully spelt ref (`refs/tags/…`), so nothing the user typed is read
 * as an option; `protocol.ext.allow=never` stops a crafted URL from running a command, and
 * `GIT_TERMINAL_PROMPT=0` keeps a private remote from waiting for a password.
 */
import { execFile } from 'node:child_process'
import { GIT_OBJECT_FORMATS, type GitObjectFormat } from '../verify/index.ts'

export class GitRepoError extends Error {
  override readonly name = 'GitRepoError'
  constructor(
    readonly code: 'no_git' | 'not_a_repository' | 'git_failed' | 'bad_ref',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** Output caps: ls-remote of a repository with 100,000 tags is about 10 MB. */
const MAX_OUTPUT = 64 * 1024 * 1024

/** Runs git; resolves stdout, or undefined when git exits 1 or 128 and `soft` (a ref that is not there). */
function git(args: readonly string[], o: { cwd?: string; input?: string; soft?: boolean; timeoutMs?: number } = {}): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      ['-c', 'protocol.ext.allow=never', ...args],
      { cwd: o.cwd, encoding: 'utf8', maxBuffer: MAX_OUTPUT, timeout: o.timeoutMs ?? 120_000, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' } },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout)
        const e = err as unknown as { code?: string | number }
        if (e.code === 'ENOENT') return reject(new GitRepoError('no_git', 'git is not installed (or not on PATH)', { cause: err }))
        if (o.soft && (e.code === 1 || e.code === 128)) return resolve(undefined)
        reject(new GitRepoError('git_failed', `git ${args.filter((a) => a !== '--').slice(0, 3).join(' ')} failed: ${stderr.trim().split('\n').slice(-1)[0] || err.message}`, { cause: err }))
      },
    )
    if (o.input !== undefined) child.stdin?.end(o.input)
  })
}

const isOid = (s: string, format: GitObjectFormat) => s.length === GIT_OBJECT_FORMATS[format] * 2 && /^[0-9a-f]+$/.test(s)

export interface Repository {
  /** The repository's object format. */
  format: GitObjectFormat
  /** The directory's path inside the work tree ('' at the top, else ending in '/'). */
  prefix: string
}

/** The repository `dir` is in, or undefined when it is in none. */
export async function repositoryOf(dir: string): Promise<Repository | undefined> {
  const out = await git(['rev-parse', '--is-inside-work-tree', '--show-object-format', '--show-prefix'], { cwd: dir, soft: true })
  if (out === undefined) return undefined
  const [inside, format, prefix = ''] = out.split('\n')
  if (inside !== 'true') return undefined
  if (format !== 'sha1' && format !== 'sha256') throw new GitRepoError('git_failed', `unknown object format ${JSON.stringify(format)}`)
  return { format, prefix }
}

/** Whether git accepts `tag` as a tag name (git check-ref-format), so it can be spelt `refs/tags/<tag>`. */
export async function isTagName(tag: string): Promise<boolean> {
  return (await git(['check-ref-format', `refs/tags/${tag}`], { soft: true })) !== undefined && !tag.startsWith('-')
}

export interface TagTarget {
  tag: string
  /** The commit the tag points to, peeled through annotated tags. */
  commit: string
  /** That commit's tree, or with a prefix the tree at that path in it (undefined if absent there). */
  tree?: string
}

/**
 * The commit `refs/tags/<tag>` names in the repository at `dir` and the tree at `prefix` in it,
 * or undefined when there is no such tag (or it does not name a commit).
 */
export async function resolveTag(dir: string, tag: string, repo: Repository): Promise<TagTarget | undefined> {
  if (!(await isTagName(tag))) return undefined
  const ref = `refs/tags/${tag}`
  const out = await git(['cat-file', '--batch-check=%(objectname) %(objecttype)'], { cwd: dir, input: `${ref}^{commit}\n${ref}^{commit}:${repo.prefix}\n` })
  const [commit, tree] = (out ?? '').split('\n').map((l) => l.split(' '))
  if (!commit || commit[1] !== 'commit' || !isOid(commit[0]!, repo.format)) return undefined
  return { tag, commit: commit[0]!, ...(tree?.[1] === 'tree' && isOid(tree[0]!, repo.format) && { tree: tree[0] }) }
}

export interface RemoteTag {
  tag: string
  /** The object the tag names, peeled (`^{}`) when it is annotated. */
  object: string
  annotated: boolean
}

/**
 * The tags of a repository by `git ls-remote --tags` (a URL or a local path), peeled: for an
 * annotated tag, ls-remote prints the tag object and then `<tag>^{}` with what it points to.
 * The object format is read from the ids' length; a listing that mixes lengths is refused.
 */
export function parseLsRemote(text: string): { format: GitObjectFormat | undefined; tags: RemoteTag[] } {
  const byTag = new Map<string, RemoteTag>()
  let format: GitObjectFormat | undefined
  for (const line of text.split('\n')) {
    if (line === '') continue
    const m = /^([0-9a-f]{40}|[0-9a-f]{64})\trefs\/tags\/(.+?)(\^\{\})?$/.exec(line)
    if (!m) throw new GitRepoError('bad_ref', `unexpected line from git ls-remote: ${JSON.stringify(line.slice(0, 200))}`)
    const f: GitObjectFormat = m[1]!.length === 40 ? 'sha1' : 'sha256'
    if (format && format !== f) throw new GitRepoError('bad_ref', 'git ls-remote listed ids of two object formats')
    format = f
    const had = byTag.get(m[2]!)
    if (m[3]) byTag.set(m[2]!, { tag: m[2]!, object: m[1]!, annotated: true })
    else if (!had) byTag.set(m[2]!, { tag: m[2]!, object: m[1]!, annotated: false })
  }
  return { format, tags: [...byTag.values()] }
}

export async function lsRemoteTags(source: string, timeoutMs?: number): Promise<{ format: GitObjectFormat | undefined; tags: RemoteTag[] }> {
  if (source.startsWith('-')) throw new GitRepoError('bad_ref', `${JSON.stringify(source)} is not a repository URL or path`)
  return parseLsRemote((await git(['ls-remote', '--tags', '--', source], { timeoutMs }))!)
}

/**
 * Types of objects and trees of commits in a local repository, in one `git cat-file` run: for
 * each id, its type and (for a commit) its tree. Ids git does not have come back without a type.
 */
export async function describeObjects(dir: string, ids: readonly string[], format: GitObjectFormat): Promise<Map<string, { type?: string; tree?: string }>> {
  const out = new Map<string, { type?: string; tree?: string }>()
  if (ids.length === 0) return out
  const text = (await git(['cat-file', '--batch-check=%(objectname) %(objecttype)'], { cwd: dir, input: ids.flatMap((id) => [id, `${id}^{tree}`]).join('\n') + '\n' }))!
  const lines = text.split('\n')
  ids.forEach((id, i) => {
    const [self, tree] = [lines[2 * i]!.split(' '), lines[2 * i + 1]!.split(' ')]
    const type = self[0] === id && self[1] !== 'missing' ? self[1] : undefined
    out.set(id, { ...(type && { type }), ...(type === 'commit' && tree[1] === 'tree' && isOid(tree[0]!, format) && { tree: tree[0] }) })
  })
  return out
}
