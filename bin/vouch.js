#!/usr/bin/env node
// The `vouch` command. The CLI is TypeScript (src/cli/), bundled by esbuild into dist/cli.js when
// the package is installed (`npm install` runs `prepare`, which runs `npm run build:cli`).
import('../dist/cli.js').catch((e) => {
  if (e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/cli.js')) {
    process.stderr.write('vouch: the CLI is not built yet; run `npm run build:cli` (npm install does it)\n')
    process.exit(70)
  }
  throw e
})
