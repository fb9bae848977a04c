/**
 * The witness's record per log: the latest checkpoint it cosigned (D1 `witness_state`). Knows no
 * HTTP. Every change is a compare-and-swap on the row the caller checked the proof against, so two
 * requests racing (or two isolates) cannot both win: the loser sees the winner's size (tlog-witness'
 * "check and persist atomically").
 */
export interface WitnessRecord {
  size: number
  root: Uint8Array
  note: string
  cosig: string
  time: number
}

export async function witnessRecord(db: D1Database, origin: string): Promise<WitnessRecord | undefined> {
  const row = await db.prepare('SELECT size, root, note, cosig, time FROM witness_state WHERE origin = ?1').bind(origin).first<{ size: number; root: ArrayBuffer; note: string; cosig: string; time: number }>()
  return row ? { ...row, root: new Uint8Array(row.root) } : undefined
}

/**
 * Replaces `expected` (undefined: no record yet) by `next`. False when the row is no longer
 * `expected`: another request moved it first, and nothing was written.
 */
export async function swapWitnessRecord(db: D1Database, origin: string, expected: WitnessRecord | undefined, next: WitnessRecord): Promise<boolean> {
  const r = expected
    ? await db
        .prepare('UPDATE witness_state SET size = ?2, root = ?3, note = ?4, cosig = ?5, time = ?6 WHERE origin = ?1 AND size = ?7 AND root = ?8')
        .bind(origin, next.size, next.root, next.note, next.cosig, next.time, expected.size, expected.root)
        .run()
    : await db
        .prepare('INSERT INTO witness_state (origin, size, root, note, cosig, time) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (origin) DO NOTHING')
        .bind(origin, next.size, next.root, next.note, next.cosig, next.time)
        .run()
  return r.meta.changes === 1
}
