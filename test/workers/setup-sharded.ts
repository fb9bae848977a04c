import { applyD1Migrations, env, type D1Migration } from 'cloudflare:test'
import { bindShards } from '../../src/store/shards.ts'
import './setup.ts'

// The `workers-sharded` project (vitest.config.ts): four index shards, each with its own schema.
const e = env as unknown as Record<string, D1Database> & { INDEX_MIGRATIONS: D1Migration[] }
const shards = [0, 1, 2, 3].map((i) => e[`INDEX_${i}`]!)
for (const shard of shards) await applyD1Migrations(shard, e.INDEX_MIGRATIONS)

// Tests that call the store directly (not through SELF.fetch) use the same shards.
bindShards(env.DB, shards)
