import type { RelayEnv } from '../config.ts'
import { integrate } from './integrate.ts'

export { checkpoint, logIdentity, LOG_PREFIX, readTile, type LogIdentity } from './checkpoint.ts'
export { integrate, integratedTiles } from './integrate.ts'
export { logSize } from './store.ts'
export { keepWitnessed, thinWitnessed, witnessedFor } from './witnessed.ts'

/** Completed level-0 tiles the cron integrates per run: 256 × 256 leaves, a few hundred R2 writes. */
const TILES_PER_CRON = 256

/** Cron: integrate whatever backlog requests left (a quiet log is integrated here, not on read). */
export async function integrateLog(env: RelayEnv): Promise<void> {
  const r = await integrate(env, TILES_PER_CRON)
  if (r.after > r.before) console.log(`log: integrated level-0 tiles ${r.before}..${r.after - 1} (${r.writes} R2 writes)`)
}
