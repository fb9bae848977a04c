import { createHash } from 'node:crypto'
import {
  base64,
  base64url,
  decodeDidKey,
  encodeDidKey,
  keyPairFromSeed,
  signStatement,
  signingBytes,
  type KeyPair,
  type Statement,
} from '../../src/verify/index.ts'

export type BenchKey = KeyPair & { did: string }

/** `count` deterministic keys: seed k is the byte k followed by 31 bytes 0xb0 (not the tests' keys). */
export async function makeKeys(count: number): Promise<BenchKey[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, k) => {
      const seed = new Uint8Array(32).fill(0xb0)
      seed[0] = k & 0xff
      const kp = await keyPairFromSeed(seed)
      return { ...kp, did: encodeDidKey(kp.publicKey) }
    }),
  )
}

/**
 * A typical statement: a package version and the hash of its tarball, by one of the keys.
 * Subjects are distinct across every statement of a run (`tag` names the pool), so every one is new.
 */
export function signPool(keys: BenchKey[], tag: string, count: number, time: number, withObject = true): Promise<Statement[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => {
      const key = keys[i % keys.length]!
      const subject = `pkg:npm/vouch-bench-${tag}-${i}@1.0.${i % 100}`
      const object = `sha256-${createHash('sha256').update(subject).digest('base64')}`
      return withObject
        ? signStatement({ v: 1, actor: key.did, subject, claim: 'source', object, time: time + i }, key.secretKey)
        : signStatement({ v: 1, actor: key.did, subject, claim: 'reviewed', time: time + i }, key.secretKey)
    }),
  )
}

/** JSON bodies for POST /v1/statements: single objects for batch 1, arrays otherwise. */
export function bodies(statements: Statement[], batch: number): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < statements.length; i += batch) {
    const part = statements.slice(i, i + batch)
    out.push(Buffer.from(JSON.stringify(batch === 1 ? part[0] : part)))
  }
  return out
}

/** The verify-worker's /load body: each statement's key, signed bytes and signature. */
export function verifyLoad(statements: Statement[]): string {
  const keys: string[] = []
  const index = new Map<string, number>()
  const items = statements.map((s) => {
    let k = index.get(s.actor)
    if (k === undefined) index.set(s.actor, (k = keys.length)), keys.push(base64url.encode(decodeDidKey(s.actor)!))
    return [k, base64.encode(signingBytes(s)), s.sig] as const
  })
  return JSON.stringify({ keys, items })
}
