import type { AliasCheck } from '../identity/types.ts'
import { hex, isDidKey, sha256, utf8 } from '../verify/index.ts'

/**
 * Alias-proof results the explorer has checked, shared by every page view in KV. Pages only read
 * this cache; a check (an outbound fetch) is started by a rate-limited POST that writes it. A
 * result is a hint for humans looking at one relay's view, never an input to a client's verdict,
 * so KV's eventual consistency (a result may show up elsewhere ~60 s later) costs nothing.
 */

/** A result as the cache keeps it: when this relay checked it. */
export interface CachedCheck extends AliasCheck {
  /** When this relay ran the check (ms since the epoch). */
  checkedAt: number
}

/**
 * How long a shared result is shown. A success for an hour (or less when its source said so, e.g. a
 * DNS TTL); a failure for ten minutes, so a site that is down is not asked again by every visitor,
 * and a fixed proof is seen soon. KV refuses an `expirationTtl` under 60 s, hence `minSeconds`.
 */
export const SHARED_PROOF_TTL = { okSeconds: 60 * 60, failureSeconds: 10 * 60, minSeconds: 60 } as const

/** Bulk KV reads take at most 100 keys. */
const KV_BULK_MAX = 100

const claimKey = (did: string, alias: string) => `${did}\n${alias}` // a did:key has no newline

/**
 * The KV key of (did, alias). An alias may be up to 1024 bytes and a KV key at most 512, so the
 * alias is hashed; the did stays readable so an operator can list one key's results by prefix.
 */
export async function proofKey(did: string, alias: string): Promise<string> {
  return `proof:${did}:${hex.encode((await sha256(utf8(alias))).bytes)}`
}

/** A stored value, checked field by field: anything else (an old format, an edit) reads as "not checked". */
function parseCached(v: unknown, did: string, alias: string, now: number): CachedCheck | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined
  const r = v as Record<string, unknown>
  if (r.did !== did || r.alias !== alias || typeof r.ok !== 'boolean' || typeof r.method !== 'string' || typeof r.detail !== 'string') return undefined
  if (!Number.isSafeInteger(r.checkedAt) || !Number.isSafeInteger(r.expiresAt)) return undefined
  // KV's own expiry is lazy and at least 60 s: the stored deadline is the one that counts.
  if ((r.expiresAt as number) <= now) return undefined
  return { ok: r.ok, method: r.method, alias, did, detail: r.detail, expiresAt: r.expiresAt as number, checkedAt: r.checkedAt as number }
}

/** The unexpired results for `claims`, by `did\nalias` (use `cachedFor` to look one up). */
export async function readProofs(kv: KVNamespace, claims: readonly { did: string; alias: string }[], now: number): Promise<Map<string, CachedCheck>> {
  const unique = new Map<string, { did: string; alias: string; key: string }>()
  for (const c of claims) if (!unique.has(claimKey(c.did, c.alias))) unique.set(claimKey(c.did, c.alias), { ...c, key: await proofKey(c.did, c.alias) })
  const wanted = [...unique.values()]
  const out = new Map<string, CachedCheck>()
  for (let i = 0; i < wanted.length; i += KV_BULK_MAX) {
    const part = wanted.slice(i, i + KV_BULK_MAX)
    const values = await kv.get(
      part.map((w) => w.key),
      'json',
    )
    for (const w of part) {
      const hit = parseCached(values.get(w.key), w.did, w.alias, now)
      if (hit) out.set(claimKey(w.did, w.alias), hit)
    }
  }
  return out
}

export const cachedFor = (cache: ReadonlyMap<string, CachedCheck>, did: string, alias: string) => cache.get(claimKey(did, alias))

/** Keeps each result for its shared lifetime (a success also no longer than its own `expiresAt`). Returns what was stored. */
export async function writeProofs(kv: KVNamespace, results: readonly AliasCheck[], now: number): Promise<CachedCheck[]> {
  const stored = results.flatMap((r): CachedCheck[] => {
    if (!isDidKey(r.did)) return [] // checkAliases only returns checked dids; this keeps the key space to them
    // A success holds no longer than its source said (a DNS TTL); a failure's own expiry is only
    // the checker's politeness window, so the shared one replaces it.
    const expiresAt = r.ok ? Math.min(r.expiresAt, now + 1000 * SHARED_PROOF_TTL.okSeconds) : now + 1000 * SHARED_PROOF_TTL.failureSeconds
    return expiresAt > now ? [{ ...r, expiresAt, checkedAt: now }] : []
  })
  // KV allows one write a second per key: two visitors checking the same alias at once may see one
  // put refused. The result is still theirs to see; the cache keeps the other visitor's copy.
  await Promise.allSettled(
    stored.map(async (s) =>
      kv.put(await proofKey(s.did, s.alias), JSON.stringify(s), {
        expirationTtl: Math.max(SHARED_PROOF_TTL.minSeconds, Math.ceil((s.expiresAt - now) / 1000)),
      }),
    ),
  )
  return stored
}
