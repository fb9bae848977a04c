import { configOf, type RelayEnv } from '../config.ts'
import { selfUrl } from '../gossip/index.ts'
import { relayIdentity } from '../gossip/identity.ts'
import { cosignerKey, decodeDidKey, formatCosignerKey, type CosignerKey } from '../verify/index.ts'

/**
 * The relay as a witness. It cosigns with its RELAY_KEY: a cosignature's message starts
 * `cosignature/v1\n`, a checkpoint's with the log's origin and a peer request's signature base
 * with `"@method"`, so one key's signatures in the three roles can never be taken for each other;
 * and one relay runs one witness, so tlog-cosignature's "distinct keys for distinct cosigners"
 * holds. The name is `<relay host[/path]>/vouch-witness`, beside the log's `/vouch-log`.
 */
export interface WitnessIdentity {
  key: CosignerKey
  verifierKey: string
  secretKey: Uint8Array
}

export async function witnessIdentity(env: RelayEnv, requestUrl = ''): Promise<WitnessIdentity | undefined> {
  if (!configOf(env).witness) return undefined
  const me = await relayIdentity(env)
  const base = selfUrl(env, requestUrl || undefined)
  if (!me || !base) return undefined
  const name = `${hostPath(base)}/vouch-witness`
  const publicKey = decodeDidKey(me.did)!
  return { key: cosignerKey(name, publicKey), verifierKey: formatCosignerKey(name, publicKey), secretKey: me.secretKey }
}

/** A base URL as C2SP names write it: without the scheme or a trailing slash. */
export const hostPath = (base: string) => base.replace(/^https?:\/\//, '').replace(/\/+$/, '')
