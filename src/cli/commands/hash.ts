import type { GitObjectFormat, HashAlgorithm } from '../../verify/index.ts'
import { defineCommand } from '../args.ts'
import { hashContent } from '../local-content.ts'
import type { Context } from '../context.ts'
import { localError, usageError } from '../errors.ts'

export default defineCommand({
  usage: ['hash PATH [--alg sha256|sha384|sha512]', 'hash --git DIR [--object-format sha1|sha256]'],
  summary: 'Hash a file (its bytes) or a directory (its NAR), as the network names content',
  description: `A file is hashed as its bytes, as npm's "integrity" is. A directory is hashed as its NAR
serialisation: the value \`nix hash path\` prints (files, executable bits and symlinks; no
timestamps or owners), so two machines with the same tree agree on its hash.

With --git, a directory is hashed as git names it: the tree id \`git add -A && git write-tree\`
prints in a fresh repository there (sha1 unless --object-format sha256). It hashes what is there:
\`.git\` is skipped and ignore files are not honoured; empty directories are left out, as git
does. The id is printed as git prints it; --json adds the gitoid that statements carry.`,
  options: {
    alg: { type: 'string', value: 'ALG', description: 'sha256 (default), sha384 or sha512' },
    git: { type: 'boolean', description: 'print the git tree id of DIR instead of its NAR hash' },
    'object-format': { type: 'string', value: 'FORMAT', description: 'with --git: sha1 (default) or sha256, as `git init --object-format`' },
  },
  args: [1, 1],
  offline: true,
  examples: ['vouch hash ./mylib            # sha256-… of the NAR, as `nix hash path ./mylib`', 'vouch hash mylib-1.2.3.tgz --alg sha512', 'vouch hash ./mylib --json', 'vouch hash --git ./mylib        # as `git rev-parse v1.2.3^{tree}` in its repository'],
  async run(ctx, values, [path]) {
    if (values.git) return hashGit(ctx, path!, values['object-format'] ?? 'sha1', values.alg)
    if (values['object-format'] !== undefined) throw usageError('--object-format applies to --git only')
    const alg = (values.alg ?? 'sha256') as HashAlgorithm
    if (!['sha256', 'sha384', 'sha512'].includes(alg)) throw usageError(`--alg must be sha256, sha384 or sha512, got ${JSON.stringify(values.alg)}`)
    const c = await hashContent(ctx, path!, alg)
    ctx.out.result(c.hash, { hash: c.hash, type: c.format === 'nar' ? 'nar' : 'file', size: c.size, path: c.path })
  },
})

async function hashGit(ctx: Context, path: string, format: string, alg: string | undefined): Promise<void> {
  if (alg !== undefined) throw usageError('--alg does not apply to --git; use --object-format sha1|sha256')
  if (format !== 'sha1' && format !== 'sha256') throw usageError(`--object-format must be sha1 or sha256, got ${JSON.stringify(format)}`)
  // Loaded only here: `vouch hash DIR` (a NAR) should not pay for the git code at start-up.
  const { gitTreeOfPath, GitTreeError } = await import('../../git/fs.ts')
  const bar = ctx.out.progress(`hashing ${path}`)
  const t = await gitTreeOfPath(path, { format: format as GitObjectFormat, onProgress: (p) => bar.update(p.bytes, `${p.files} files`) })
    .catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') throw localError('no_path', `${path} does not exist`)
      if (e instanceof GitTreeError) throw localError('not_hashable', e.message)
      throw e
    })
    .finally(() => bar.done())
  ctx.out.result(t.hex, { hash: t.gitoid, id: t.hex, type: 'git-tree', objectFormat: t.format, files: t.files, path })
}
