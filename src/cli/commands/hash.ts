import type { HashAlgorithm } from '../../verify/index.ts'
import { defineCommand } from '../args.ts'
import { hashContent } from '../content.ts'
import { usageError } from '../errors.ts'

export default defineCommand({
  usage: ['hash PATH [--alg sha256|sha384|sha512]'],
  summary: 'Hash a file (its bytes) or a directory (its NAR), as the network names content',
  description: `A file is hashed as its bytes, as npm's "integrity" is. A directory is hashed as its NAR
serialisation: the value \`nix hash path\` prints (files, executable bits and symlinks; no
timestamps or owners), so two machines with the same tree agree on its hash.`,
  options: {
    alg: { type: 'string', value: 'ALG', description: 'sha256 (default), sha384 or sha512' },
  },
  args: [1, 1],
  examples: ['vouch hash ./mylib            # sha256-… of the NAR, as `nix hash path ./mylib`', 'vouch hash mylib-1.2.3.tgz --alg sha512', 'vouch hash ./mylib --json'],
  async run(ctx, values, [path]) {
    const alg = (values.alg ?? 'sha256') as HashAlgorithm
    if (!['sha256', 'sha384', 'sha512'].includes(alg)) throw usageError(`--alg must be sha256, sha384 or sha512, got ${JSON.stringify(values.alg)}`)
    const c = await hashContent(ctx, path!, alg)
    ctx.out.result(c.hash, { hash: c.hash, type: c.format === 'nar' ? 'nar' : 'file', size: c.size, path: c.path })
  },
})
