import type Database from 'better-sqlite3'

/**
 * The read half of D1's API over a better-sqlite3 handle on the relay's local D1 file, so the
 * store's own functions run on a database the benchmark built (plans, samples) before the relay
 * starts on it.
 */
export function sqliteAsD1(db: Database.Database): D1Database {
  const statement = (sql: string, params: unknown[]): D1PreparedStatement => {
    const [prepared, bound] = numbered(db, sql, params)
    return {
      bind: (...p: unknown[]) => statement(sql, p),
      all: async () => ({ results: prepared.all(bound), success: true, meta: {} }),
      raw: async () => prepared.raw().all(bound),
      run: async () => (prepared.run(bound), { results: [], success: true, meta: {} }),
      first: async (column?: string) => {
        const row = prepared.get(bound) as Record<string, unknown> | undefined
        if (row === undefined) return null
        return column === undefined ? row : (row[column] ?? null)
      },
    } as unknown as D1PreparedStatement
  }
  return {
    prepare: (sql: string) => statement(sql, []),
    // Reads batched for one round trip (the explorer's search) run in turn, as D1 runs a batch.
    batch: async (stmts: D1PreparedStatement[]) => Promise.all(stmts.map((s) => s.all())),
  } as unknown as D1Database
}

/**
 * better-sqlite3 binds `?` by position and names by object, but refuses D1's `?1` numbered
 * parameters given positionally; they are renamed `@p1` and bound by name, meaning unchanged.
 */
export function numbered(db: Database.Database, sql: string, params: unknown[]): [Database.Statement, Record<string, unknown>] {
  const named = sql.replace(/\?(\d+)/g, '@p$1')
  return [db.prepare(named), Object.fromEntries(params.map((v, i) => [`p${i + 1}`, v]))]
}
