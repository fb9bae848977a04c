import { BridgeError, followNpm, type CheckpointStore, type FollowReport, type FollowState } from '../bridges/index.ts'
import { keySigner } from '../client/index.ts'
import { decodeBase64url, keyPairFromSeed } from '../verify/index.ts'

/**
 * One run of the npm bridge Worker. Kept apart from the entry (index.ts), which may export only
 * handlers.
 *
 * The npm bridge as a scheduled Worker (bridge.wrangler.toml): every cron run follows the changes
 * feed from the checkpoint in KV for a bounded amount of work (MAX_CHANGES, BUDGET_MS), publishing
 * under its own key (the BRIDGE_KEY secret). The same `followNpm` as `vouch bridge npm --follow`;
 * only the checkpoint store differs. Runs never overlap in practice (a run ends well within the
 * minute), and if one did, both would sign the same bytes: the relays keep one copy.
 */

export interface BridgeEnv {
  BRIDGE_KEY?: string
  CHANGES_URL: string
  REGISTRY_URL: string
  RELAYS: string
  QUORUM: string
  MAX_CHANGES: string
  BUDGET_MS: string
  BRIDGE_STATE: KVNamespace
}

export const CHECKPOINT_KEY = 'npm:checkpoint'
export const REPORT_KEY = 'npm:last-run'

/** KV as the checkpoint store: one small value, written once per accepted batch (KV allows one write a second per key). */
export function kvStore(kv: KVNamespace): CheckpointStore {
  return {
    async load() {
      return (await kv.get<FollowState>(CHECKPOINT_KEY, 'json')) ?? undefined
    },
    async save(state) {
      await kv.put(CHECKPOINT_KEY, JSON.stringify(state))
    },
  }
}

const int = (v: string, name: string) => {
  if (!/^[1-9]\d{0,8}$/.test(v)) throw new BridgeError('unsupported', 'bad_config', `${name} must be a positive integer`)
  return Number(v)
}

/** One bounded run; the report is also kept in KV for the status answer. */
export async function runBridge(env: BridgeEnv, now = Date.now()): Promise<FollowReport> {
  const seed = env.BRIDGE_KEY ? decodeBase64url(env.BRIDGE_KEY) : undefined
  if (!seed || seed.length !== 32) throw new BridgeError('unsupported', 'bad_config', 'BRIDGE_KEY must be a base64url Ed25519 seed of 32 bytes')
  const relays = env.RELAYS.split(/\s+/).filter(Boolean)
  if (relays.length === 0) throw new BridgeError('unsupported', 'bad_config', 'RELAYS names no relay')
  const report = await followNpm({
    relays,
    quorum: int(env.QUORUM, 'QUORUM'),
    signer: keySigner(await keyPairFromSeed(seed)),
    changes: env.CHANGES_URL,
    registry: env.REGISTRY_URL,
    store: kvStore(env.BRIDGE_STATE),
    once: true,
    maxChanges: int(env.MAX_CHANGES, 'MAX_CHANGES'),
    deadline: now + int(env.BUDGET_MS, 'BUDGET_MS'),
    // Within one invocation: short waits, few tries; the next cron run picks up where this one stopped.
    retry: { attempts: 3, baseMs: 500, capMs: 5000 },
    maxErrors: 3,
  })
  await env.BRIDGE_STATE.put(REPORT_KEY, JSON.stringify({ at: new Date(now).toISOString(), ...report }))
  return report
}

