/**
 * A D1 binding that sums `meta.rows_written` and `meta.rows_read` of every `run`, `all` and
 * `batch` the real D1 answers (binds pass through): how the ingest benchmark and the gate's cost
 * test count what an operator is billed. No Node imports, so it runs in workerd tests too.
 */
export function countingD1(db: D1Database): { db: D1Database; n: { written: number; read: number } } {
  const n = { written: 0, read: 0 }
  const add = <T extends D1Result | D1Result[]>(r: T) => {
    for (const x of [r].flat()) (n.written += x.meta.rows_written ?? 0), (n.read += x.meta.rows_read ?? 0)
    return r
  }
  const wrapStmt = (s: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(s, {
      get(t, p) {
        if (p === 'bind') return (...a: unknown[]) => wrapStmt(t.bind(...a))
        if (p === 'run' || p === 'all') return async () => add(await t[p]())
        const v = Reflect.get(t, p, t)
        return typeof v === 'function' ? v.bind(t) : v
      },
    })
  const wrapped = new Proxy(db, {
    get(t, p) {
      if (p === 'prepare') return (sql: string) => wrapStmt(t.prepare(sql))
      if (p === 'batch') return async (stmts: D1PreparedStatement[]) => add(await t.batch(stmts))
      const v = Reflect.get(t, p, t)
      return typeof v === 'function' ? v.bind(t) : v
    },
  })
  return { db: wrapped, n }
}
