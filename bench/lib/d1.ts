import { join } from 'node:path'
import { getPlatformProxy } from 'wrangler'
import { insertStatements } from '../../src/store/statements.ts'
import type { VerifiedStatement } from '../../src/verify/index.ts'

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
}

/**
 * Opens the relay's local D1 and KV (after the relay has stopped) with `getPlatformProxy`,
 * counts what ingest left there, and runs the relay's own `insertStatements` on fresh verified
 * statements, reading D1's `meta.rows_written` from every batch result. `wrangler d1 execute --local --json` would be the
 * other way in, but locally it reports only `duration`, not rows written.
 */
export async function measureStore(dir: string, fresh: VerifiedStatement[][], noObject: VerifiedStatement[]): Promise<StoreReport> {
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
    return {
      storedRows,
      kvKeys,
      rowsWrittenPerStatement: withObject.rowsWritten / inserted,
      rowsReadPerStatement: withObject.rowsRead / inserted,
      inserted,
      rowsWrittenNoObject: rowsWritten / noObject.length,
    }
  } finally {
    await proxy.dispose()
  }
}
