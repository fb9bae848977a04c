import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers'
import { defineConfig } from 'vitest/config'

/** Run again at INDEX_SHARDS = 4: the sharded layout's own tests and the existing files that exercise the store most. */
const SHARDED_TESTS = ['test/workers/sharded.test.ts', 'test/workers/{query,bulk,search,package-marks,admission-store,blob-with-statement,hostile-evidence}.test.ts']

/**
 * Two projects: `workers` runs inside workerd with real local D1 and KV (the relay's runtime);
 * `node` runs the same protocol code under Node, where the client and CLI live, so the tests can
 * show both runtimes give identical verdicts.
 */
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest(async () => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              // RELAY_KEY '' (unset): `npm start` writes a key to the untracked .dev.vars, which wrangler
              // would lend the tests; a test that needs a key passes its own.
              bindings: { TEST_MIGRATIONS: await readD1Migrations('./migrations'), ADMIN_TOKEN: 'test-admin-token', RELAY_KEY: '' },
              // A real rate-limit binding with a tiny limit, swapped in for RATE_REQUESTS/RATE_PEERS
              // by test/workers/gate.test.ts (the configured 600 a minute take too long to reach).
              ratelimits: { RATE_TEST: { simple: { limit: 5, period: 60 } } },
            },
          })),
        ],
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts', 'test/shared/**/*.test.ts'],
          // Needs the four index shards of `workers-sharded`.
          exclude: ['test/workers/sharded.test.ts'],
          setupFiles: ['test/workers/setup.ts'],
        },
      },
      {
        // The same relay with its index sharded across four D1 databases (INDEX_SHARDS = 4,
        // docs/SCALE.md "Built: step 2"): its own tests plus existing store-heavy files, unchanged,
        // as the proof that the sharded layout answers as the single database does.
        plugins: [
          cloudflareTest(async () => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                TEST_MIGRATIONS: await readD1Migrations('./migrations'),
                INDEX_MIGRATIONS: await readD1Migrations('./migrations-index'),
                ADMIN_TOKEN: 'test-admin-token',
                RELAY_KEY: '',
                INDEX_SHARDS: '4',
              },
              d1Databases: ['INDEX_0', 'INDEX_1', 'INDEX_2', 'INDEX_3'],
              ratelimits: { RATE_TEST: { simple: { limit: 5, period: 60 } } },
            },
          })),
        ],
        test: {
          name: 'workers-sharded',
          include: SHARDED_TESTS,
          setupFiles: ['test/workers/setup-sharded.ts'],
        },
      },
      {
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/node/**/*.test.ts', 'test/shared/**/*.test.ts'],
        },
      },
    ],
  },
})
