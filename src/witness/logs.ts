import type { RelayEnv } from '../config.ts'
import { peerInfo } from '../gossip/caps.ts'
import { listPeers } from '../gossip/index.ts'
import { parseVerifierKey, type NoteVerifier } from '../verify/index.ts'
import { hostPath } from './identity.ts'

/**
 * Which logs this relay witnesses: its configured peers' (any direction, admin-managed included),
 * each as its /.well-known/vouch publishes it (origin and verifier key, cached with its caps). A
 * peer's log is taken only under the origin its configured URL gives (`<host[/path]>/vouch-log`),
 * so a peer cannot have this witness cosign under another relay's origin.
 */
const LOGS_MS = 60_000
const maps = new WeakMap<object, { at: number; logs: Promise<Map<string, NoteVerifier>> }>()

export async function witnessedLogs(env: RelayEnv, now = Date.now()): Promise<Map<string, NoteVerifier>> {
  let m = maps.get(env)
  if (!m || now - m.at > LOGS_MS) {
    const logs = listPeers(env, 'any').then(async (peers) => {
      const infos = await Promise.all(peers.map((p) => peerInfo(env, p)))
      const out = new Map<string, NoteVerifier>()
      peers.forEach((p, i) => {
        const log = infos[i]!.log
        const key = log && parseVerifierKey(log.verifierKey)
        if (key && log.origin === `${hostPath(p)}/vouch-log`) out.set(log.origin, key)
      })
      return out
    })
    logs.catch(() => maps.delete(env))
    m = { at: now, logs }
    maps.set(env, m)
  }
  return m.logs
}

/** Forget the per-isolate map (tests; the admin API changing peers). */
export const forgetWitnessedLogs = (env: RelayEnv) => maps.delete(env)
