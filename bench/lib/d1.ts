import { join } from 'node:path'
import { getPlatformProxy } from 'wrangler'
import { configOf, type RelayEnv } from '../../src/config.ts'
import { ingest } from '../../src/store/ingest.ts'
import { insertStatements } from '../../src/store/statements.ts'
import type { Json, Statement, VerifiedStatement } from '../../src/verify/index.ts'
import { countingD1 } from './d1-counting.ts'

export interface StoreReport {
  /** Rows in `statements` after the run. */
  storedRows: number
  /** Keys in the CACHE KV namespace after the run (ingest writes none). */
  kvKeys: number
  /** D1 `meta.rows_written` per statement, from the relay's own insertStatements. */
  rowsWrittenPerStatement: number
  rowsReadPerStatement: number
  inserted: number
  /** The same for statements without `object` (the object index is partial). */
  rowsWrittenNoObject: number
  /** Rows written per accepted statement through the relay's whole ingest path, gate included, by batch size. */
  gated: GatedRows[]
}

export interface GatedRows {
  batch: number
  statements: number
  /** `meta.rows_written` of every query ingest made (insert, usage ledger), per accepted statement. */
  rowsWrittenPerStatement: number
}

/** Statements posted `batch` at a time, as a run posts them (the keys in turn). */
export interface GatedPool {
  batch: number
  statements: Statement[]
}

const counting = countingD1

/**
 * Opens the relay's local D1 and KV (after the relay has stopped) with `getPlatformProxy`,
 * counts what ingest left there, and runs the relay's own `insertStatements` on fresh verified
 * statements, reading D1's `meta.rows_written` from every batch result. `wrangler d1 execute --local --json` would be the
 * other way in, but locally it reports only `duration`, not rows written.
 *
 * The insert alone is the schema's cost; what an operator pays is the whole ingest path, which
 * since the gate also upserts one usage-ledger row per actor per request. So each `gated` pool
 * also goes through the relay's `ingest` (with the relay's own configuration from wrangler.toml,
 * as a client sends it), `batch` statements a call, and every query's rows written are summed.
 */
export async function measureStore(dir: string, fresh: VerifiedStatement[][], noObject: VerifiedStatement[], gatedPools: GatedPool[] = []): Promise<StoreReport> {
  const proxy = await getPlatformProxy<Env>({ configPath: 'wrangler.toml', persist: { path: join(dir, 'v3') } })
  try {
    const { DB: db, CACHE: kv } = proxy.env
    const storedRows = (await db.prepare('SELECT count(*) AS n FROM statements').first<number>('n')) ?? 0
    const kvKeys = (await kv.list()).keys.length

    let rowsWritten = 0
    let rowsRead = 0
    const recording = {
      prepare: (q: string) => db.prepare(q),
      batch: async <T>(stmts: D1PreparedStatement[]) => {
        const results = await db.batch<T>(stmts)
        for (const r of results) (rowsWritten += r.meta.rows_written), (rowsRead += r.meta.rows_read)
        return results
      },
    } as unknown as D1Database

    let inserted = 0
    for (const batch of fresh) {
      const ids = await insertStatements(recording, batch)
      if (ids.size !== batch.length) throw new Error(`insert: ${ids.size} of ${batch.length} new`)
      inserted += batch.length
    }
    const withObject = { rowsWritten, rowsRead }
    rowsWritten = 0
    await insertStatements(recording, noObject)

    const gate = configOf(proxy.env as unknown as RelayEnv)
    const gated: GatedRows[] = []
    for (const pool of gatedPools) {
      const c = counting(db)
      let accepted = 0
      for (let i = 0; i < pool.statements.length; i += pool.batch) {
        // As the relay gets them: parsed from JSON.
        const items = JSON.parse(JSON.stringify(pool.statements.slice(i, i + pool.batch))) as Json[]
        const r = await ingest(c.db, items, { now: Date.now(), origin: { kind: 'client' }, gate })
        if (r.accepted !== Math.min(pool.batch, pool.statements.length - i)) throw new Error(`gated ingest, batch ${pool.batch}: ${JSON.stringify(r.results.find((x) => x.status !== 'accepted'))}`)
        accepted += r.accepted
      }
      gated.push({ batch: pool.batch, statements: accepted, rowsWrittenPerStatement: c.n.written / accepted })
    }
    return {
      storedRows,
      kvKeys,
      rowsWrittenPerStatement: withObject.rowsWritten / inserted,
      rowsReadPerStatement: withObject.rowsRead / inserted,
      inserted,
      rowsWrittenNoObject: rowsWritten / noObject.length,
      gated,
    }
  } finally {
    await proxy.dispose()
  }
}
