import { defineConfig } from 'vitest/config'

/** Checks from outside: Go's sumdb/tlog and sumdb/note against the log, and `npm pack` giving a CLI that runs (`npm run test:interop`, run by .ci/run). */
export default defineConfig({
  test: {
    name: 'interop',
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/interop/**/*.test.ts'],
    environment: 'node',
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
})
