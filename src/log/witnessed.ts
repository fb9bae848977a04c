/**
 * The log's witnessed history (PROTOCOL §6.13): checkpoints with the cosignatures collected for
 * them, one row per tree size. Knows no HTTP.
 */

/**
 * Keeps `note` (the checkpoint with its cosignature lines) for its tree size. A later run that got
 * more cosignatures for the same checkpoint replaces it with the fuller note: the checkpoint is
 * the same (a log does not sign two trees of one size), only lines are added.
 */
export async function keepWitnessed(db: D1Database, size: number, note: string): Promise<void> {
  await db.prepare('INSERT INTO witnessed (size, note) VALUES (?1, ?2) ON CONFLICT (size) DO UPDATE SET note = excluded.note WHERE length(excluded.note) > length(note)').bind(size, note).run()
}

/**
 * The earliest witnessed checkpoint that includes leaf `index` (its size > index), or with no
 * index the latest one; undefined when there is none. The log only grows, so the answer for an
 * index never names another checkpoint once it exists.
 */
export async function witnessedFor(db: D1Database, index?: number): Promise<string | undefined> {
  const q = index === undefined ? db.prepare('SELECT note FROM witnessed ORDER BY size DESC LIMIT 1') : db.prepare('SELECT note FROM witnessed WHERE size > ?1 ORDER BY size LIMIT 1').bind(index)
  return (await q.first<string>('note')) ?? undefined
}
