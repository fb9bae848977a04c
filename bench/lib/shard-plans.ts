import { join } from 'node:path'
import type BetterSqlite3 from 'better-sqlite3'
import { getPlatformProxy } from 'wrangler'
import type { RelayEnv } from '../../src/config.ts'
import { bindBodies } from '../../src/store/bodies.ts'
import { bindShards } from '../../src/store/shards.ts'
import { captureQueries, explainAll, type PlanVerdict } from './query-plans.ts'
import { numbered, sqliteAsD1 } from './sqlite-d1.ts'

export interface ShardPlan extends PlanVerdict {
  db: string
}

/**
 * EXPLAIN QUERY PLAN of every read the API and the explorer make with the index sharded: the
 * store's own SQL, captured per database (DB or INDEX_i) as it is sent, explained on the file it
 * went to. Bodies come from the built log's bundles in the local R2 (the relay's bucket under
 * `dir`), as the relay reads them.
 */
export async function shardPlans(
  Database: typeof BetterSqlite3,
  files: { db: string; shards: string[] },
  config: string,
  dir: string,
  sample: { purl: string; hash: string; actor: string; id: string; claim: string },
): Promise<ShardPlan[]> {
  const conns = new Map([['DB', new Database(files.db, { readonly: true })], ...files.shards.map((f, i) => [`INDEX_${i}`, new Database(f, { readonly: true })] as const)])
  const proxy = await getPlatformProxy<RelayEnv>({ configPath: config, persist: { path: join(dir, 'v3') } })
  try {
    const db = sqliteAsD1(conns.get('DB')!)
    const queries = await captureQueries(db, sample, {
      dbs: files.shards.map((_, i) => sqliteAsD1(conns.get(`INDEX_${i}`)!)),
      bind: (rec, shards) => {
        bindShards(rec, shards)
        bindBodies(rec, proxy.env.BLOBS)
      },
    })
    // Each query is explained on its own database, so the lookup is by the captured label.
    const out: ShardPlan[] = []
    for (const q of queries) {
      const conn = conns.get(q.db ?? 'DB')!
      const [v] = await explainAll([q], async (sql, params) => {
        const [stmt, bound] = numbered(conn, sql, params)
        return (stmt.all(bound) as { detail: string }[]).map((r) => r.detail)
      })
      out.push({ ...v!, db: q.db ?? 'DB' })
    }
    return out
  } finally {
    await proxy.dispose()
    for (const c of conns.values()) c.close()
  }
}
