// `npm run build:cli` (also run by `prepare` and `prepack`): the CLI's bundles in dist/.
//
// - dist/cli.js and its chunks: every command, ES modules split per command, so `vouch --help`
//   or one command parses only what it uses (zod, the policy engine, the client load on demand).
// - dist/hash.cjs: `vouch hash` alone, one CommonJS file, which bin/vouch.js requires when the
//   first argument is `hash`: no ES module loader and one file to read, the start-up a hash of
//   a small tree is mostly made of (docs/PERFORMANCE.md, "Start-up"). What `vouch hash` never
//   reaches (the client, keys, the policy code that Context loads for other commands) is left
//   out: such an import fails loudly there instead of growing the file 15-fold.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')
rmSync(dist, { recursive: true, force: true })

const common = { bundle: true, platform: 'node', target: 'node20.3', logLevel: 'warning', absWorkingDir: root }

await build({ ...common, entryPoints: ['src/cli/run.ts'], splitting: true, format: 'esm', outdir: 'dist', entryNames: 'cli', chunkNames: 'cli-[name]-[hash]' })

/** Modules `vouch hash` loads on demand (src/cli/dispatch.ts, commands/hash.ts --git); any other dynamic import is stubbed. */
const HASH_NEEDS = new Set(['src/cli/args.ts', 'src/cli/context.ts', 'src/cli/output.ts', 'src/cli/safe.ts', 'src/git/fs.ts'])
const onlyWhatHashNeeds = {
  name: 'only-what-hash-needs',
  setup(b) {
    b.onResolve({ filter: /^\./ }, async (args) => {
      if (args.kind !== 'dynamic-import' || args.pluginData === 'resolving') return undefined
      const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'resolving' })
      if (r.errors.length || HASH_NEEDS.has(relative(root, r.path))) return r
      return { path: relative(root, r.path), namespace: 'not-in-hash' }
    })
    b.onLoad({ filter: /.*/, namespace: 'not-in-hash' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is not in dist/hash.cjs (scripts/build-cli.mjs HASH_NEEDS)`)})`,
      loader: 'js',
    }))
  },
}
await build({ ...common, entryPoints: ['src/cli/hash-main.ts'], format: 'cjs', outfile: 'dist/hash.cjs', plugins: [onlyWhatHashNeeds], metafile: false })

// The V8 code cache of dist/hash.cjs (bin/vouch.js): written by hashing an empty directory, so
// it holds the functions a hash runs. Only a speed-up: without it, or on another Node, the bin
// compiles the bundle as usual.
const cache = join(dist, 'hash.cjs.cache')
const empty = mkdtempSync(join(tmpdir(), 'vouch-build-'))
try {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'vouch.js'), 'hash', empty], { env: { ...process.env, VOUCH_WRITE_CODE_CACHE: cache }, stdio: ['ignore', 'ignore', 'inherit'] })
  if (r.status !== 0 || !existsSync(cache)) throw new Error(`writing ${relative(root, cache)} failed (exit ${r.status})`)
} finally {
  rmSync(empty, { recursive: true, force: true })
}
