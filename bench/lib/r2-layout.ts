import { join } from 'node:path'
import type BetterSqlite3 from 'better-sqlite3'
import { getPlatformProxy } from 'wrangler'
import type { RelayEnv } from '../../src/config.ts'
import { integrate } from '../../src/log/index.ts'
import { sqliteAsD1 } from './sqlite-d1.ts'

/**
 * The scale benchmark's second layout (docs/SCALE.md, "Built: bodies in R2"): the state a relay
 * reaches once the log has integrated everything, built from the old-layout file in `full`:
 *
 *  1. D1 at `dir`: the same rows with `body = ''` (as ingest now writes them), same indexes and
 *     names table, `pending_bodies` empty. Copied in seq order into a fresh file, so pages are as
 *     full as ingest leaves them (appends), not as an in-place update would (docs/SCALE.md).
 *  2. R2 at `dir`: the log, written by the relay's own `integrate` running in Node over the local
 *     R2 (`getPlatformProxy`), reading entries from the old file (its D1 update is skipped: the
 *     old file stays as it is for the comparison).
 */
export async function buildR2Layout(Database: typeof BetterSqlite3, full: string, slimFile: string, dir: string): Promise<{ seconds: number; r2Writes: number }> {
  const t0 = performance.now()
  const db = new Database(slimFile)
  try {
    db.pragma('synchronous = OFF')
    db.pragma('cache_size = -1000000')
    const derived = db.prepare("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'statements' AND type IN ('index', 'trigger') AND sql IS NOT NULL").all() as { type: string; name: string; sql: string }[]
    for (const x of derived) db.exec(`DROP ${x.type.toUpperCase()} ${x.name}`)
    db.exec(`ATTACH DATABASE '${full.replaceAll("'", "''")}' AS full`)
    db.exec("INSERT INTO main.statements (seq, id, actor, subject, claim, object, neg, time, body) SELECT seq, id, actor, subject, claim, object, neg, time, '' FROM full.statements ORDER BY seq")
    db.exec('INSERT INTO main.names SELECT * FROM full.names')
    db.exec('DETACH DATABASE full')
    for (const x of derived) db.exec(x.sql)
  } finally {
    db.close()
  }

  const source = new Database(full, { readonly: true })
  const proxy = await getPlatformProxy<RelayEnv>({ configPath: 'wrangler.toml', persist: { path: join(dir, 'v3') } })
  try {
    // Reads from the old file; the only D1 write integration makes (dropping bodies) is skipped.
    const reads = sqliteAsD1(source)
    const DB = { prepare: reads.prepare.bind(reads), batch: async () => [] } as unknown as D1Database
    const env = { ...proxy.env, DB } as RelayEnv
    let r2Writes = 0
    for (;;) {
      const r = await integrate(env, 1024)
      r2Writes += r.writes
      if (r.after === r.before) break
      console.error(`  log integrated: ${r.after} bundles (${((performance.now() - t0) / 1000).toFixed(0)} s)`)
    }
    return { seconds: (performance.now() - t0) / 1000, r2Writes }
  } finally {
    await proxy.dispose()
    source.close()
  }
}
