import { defineConfig } from 'vitest/config'

/** The deploy test runs wrangler many times against a stand-in API: its own run, outside `npm test`. */
export default defineConfig({
  test: {
    name: 'deploy',
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/deploy/**/*.test.ts'],
    environment: 'node',
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
})
