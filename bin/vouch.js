#!/usr/bin/env node
// The `vouch` command. The CLI is TypeScript (src/cli/), bundled by esbuild into dist/ when the
// package is installed (`npm install` runs `prepare`, which runs `npm run build:cli`).
//
// This file is CommonJS (bin/package.json): `vouch hash` runs its own one-file bundle,
// dist/hash.cjs, and never starts Node's ES module loader; every other command imports
// dist/cli.js. Start-up is most of what hashing a small tree costs (docs/PERFORMANCE.md).
'use strict'
const notBuilt = (e, file) => {
  if ((e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND' || e?.code === 'ENOENT') && String(e.message).includes(file)) {
    process.stderr.write('vouch: the CLI is not built yet; run `npm run build:cli` (npm install does it)\n')
    process.exit(70)
  }
  throw e
}

/**
 * dist/hash.cjs, compiled with the V8 code cache the build wrote next to it (hash.cjs.cache):
 * its functions arrive compiled instead of being parsed on first call. V8 checks the cache
 * against this Node and this source and ignores one that does not match, so a cache from
 * another Node version (a tarball packed elsewhere) only costs reading it. The build writes
 * the cache by running this with VOUCH_WRITE_CODE_CACHE set (scripts/build-cli.mjs).
 */
function loadHash() {
  const { readFileSync, writeFileSync } = require('node:fs')
  const { join } = require('node:path')
  const { Script } = require('node:vm')
  const file = join(__dirname, '..', 'dist', 'hash.cjs')
  const cache = `${file}.cache`
  const source = readFileSync(file, 'utf8')
  // V8 checks a cache against the source's length only, so the cache starts with the source's
  // SHA-256: a cache left from another build is never used (node:crypto is loaded by the bundle anyway).
  const digest = require('node:crypto').createHash('sha256').update(source).digest()
  let cachedData
  try {
    const stored = readFileSync(cache)
    if (digest.equals(stored.subarray(0, 32))) cachedData = stored.subarray(32)
  } catch {}
  // The wrapper Node puts around every CommonJS module, on the first line so positions in stack traces stay right.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, cachedData })
  const module = { exports: {} }
  script.runInThisContext().call(module.exports, module.exports, require, module, file, join(__dirname, '..', 'dist'))
  if (process.env.VOUCH_WRITE_CODE_CACHE === cache) {
    // At exit, so that the functions `vouch hash` ran are in the cache too.
    process.on('exit', () => writeFileSync(cache, Buffer.concat([digest, script.createCachedData()])))
  }
  return module.exports
}

if (process.argv[2] === 'hash') {
  let hash
  try {
    hash = loadHash()
  } catch (e) {
    notBuilt(e, 'dist/hash.cjs')
  }
  hash.hashMain(process.argv.slice(3))
} else {
  import('../dist/cli.js').catch((e) => notBuilt(e, 'dist/cli.js'))
}
