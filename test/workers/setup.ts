import { bindBodies } from '../../src/store/bodies.ts'
import { applyD1Migrations, env, type D1Migration } from 'cloudflare:test'

await applyD1Migrations(env.DB, (env as unknown as { TEST_MIGRATIONS: D1Migration[] }).TEST_MIGRATIONS)

// Tests that call the store directly (not through SELF.fetch) read bodies from the same bucket.
bindBodies(env.DB, env.BLOBS)
