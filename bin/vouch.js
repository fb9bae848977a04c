#!/usr/bin/env node
// The `vouch` command. The CLI is TypeScript (src/cli/), bundled by esbuild into dist/ when the
// package is installed (`npm install` runs `prepare`, which runs `npm run build:cli`).
//
// This file is CommonJS (bin/package.json): `vouch hash` requires its own one-file bundle,
// dist/hash.cjs, and never starts Node's ES module loader; every other command imports
// dist/cli.js. Start-up is most of what hashing a small tree costs (docs/PERFORMANCE.md).
'use strict'
const notBuilt = (e, file) => {
  if ((e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') && String(e.message).includes(file)) {
    process.stderr.write('vouch: the CLI is not built yet; run `npm run build:cli` (npm install does it)\n')
    process.exit(70)
  }
  throw e
}
if (process.argv[2] === 'hash') {
  let hash
  try {
    hash = require('../dist/hash.cjs')
  } catch (e) {
    notBuilt(e, 'dist/hash.cjs')
  }
  hash.hashMain(process.argv.slice(3))
} else {
  import('../dist/cli.js').catch((e) => notBuilt(e, 'dist/cli.js'))
}
