import { isDidKey } from '../verify/index.ts'
import type { AliasCheck } from './types.ts'

/** How long results are believed. */
export const PROOF_TTL = {
  /** A success whose source gave no lifetime. */
  defaultMs: 60 * 60 * 1000,
  /** Longest any success is kept, whatever its source says: a withdrawn proof is noticed within a day. */
  maxMs: 24 * 60 * 60 * 1000,
  /** A failure, so a site that is down is not asked again at once, nor a fixed proof ignored long. */
  failureMs: 5 * 60 * 1000,
} as const

export interface ProofCacheJson {
  version: 1
  entries: AliasCheck[]
}

const keyOf = (did: string, alias: string) => `${did}\n${alias}` // a did:key has no newline and a fixed length

/**
 * Checked proofs until they expire, in memory. `toJSON` / `fromJSON` let the CLI keep them in a
 * file between runs. The cache is bounded: past `maxEntries` the oldest entries are dropped.
 */
export class ProofCache {
  readonly #entries = new Map<string, AliasCheck>()
  readonly maxEntries: number

  constructor(options: { maxEntries?: number } = {}) {
    const max = options.maxEntries ?? 10_000
    if (!Number.isInteger(max) || max < 1) throw new RangeError('maxEntries must be a positive integer')
    this.maxEntries = max
  }

  get size(): number {
    return this.#entries.size
  }

  /** The result for (did, alias) if it has not expired at `now`. */
  get(did: string, alias: string, now: number = Date.now()): AliasCheck | undefined {
    const k = keyOf(did, alias)
    const e = this.#entries.get(k)
    if (e && e.expiresAt <= now) {
      this.#entries.delete(k)
      return undefined
    }
    return e && { ...e }
  }

  /** Keeps `result` until its `expiresAt`, but never longer than `PROOF_TTL.maxMs` from `now`. */
  set(result: AliasCheck, now: number = Date.now()): void {
    const expiresAt = Math.min(result.expiresAt, now + PROOF_TTL.maxMs)
    const k = keyOf(result.did, result.alias)
    this.#entries.delete(k) // re-insert at the end: Map order is the eviction order
    if (expiresAt <= now) return
    this.#entries.set(k, { ...result, expiresAt })
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.maxEntries) break
      this.#entries.delete(oldest)
    }
  }

  delete(did: string, alias: string): boolean {
    return this.#entries.delete(keyOf(did, alias))
  }

  /** Drops every entry expired at `now`. */
  prune(now: number = Date.now()): void {
    for (const [k, e] of this.#entries) if (e.expiresAt <= now) this.#entries.delete(k)
  }

  toJSON(): ProofCacheJson {
    return { version: 1, entries: [...this.#entries.values()].map((e) => ({ ...e })) }
  }

  /**
   * The cache a `toJSON` wrote. The file is checked field by field (TypeError naming the entry);
   * entries expired at `now` are dropped and none is kept past `now + PROOF_TTL.maxMs`, so an
   * edited file cannot make a proof last forever.
   */
  static fromJSON(value: unknown, now: number = Date.now(), options: { maxEntries?: number } = {}): ProofCache {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError('proof cache: not an object')
    const v = value as Partial<ProofCacheJson>
    if (v.version !== 1) throw new TypeError(`proof cache: unknown version ${JSON.stringify(v.version)}`)
    if (!Array.isArray(v.entries)) throw new TypeError('proof cache: entries must be an array')
    const cache = new ProofCache(options)
    v.entries.forEach((e: unknown, i) => cache.set(checkEntry(e, i), now))
    return cache
  }
}

function checkEntry(e: unknown, i: number): AliasCheck {
  const bad = (what: string): never => {
    throw new TypeError(`proof cache: entries[${i}]: ${what}`)
  }
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return bad('not an object')
  const r = e as Record<string, unknown>
  if (typeof r.ok !== 'boolean') bad('ok must be a boolean')
  for (const f of ['method', 'alias', 'did', 'detail'] as const) if (typeof r[f] !== 'string') bad(`${f} must be a string`)
  if (!isDidKey(r.did as string)) bad('did is not a did:key')
  if (typeof r.expiresAt !== 'number' || !Number.isSafeInteger(r.expiresAt)) bad('expiresAt must be an integer')
  return { ok: r.ok as boolean, method: r.method as string, alias: r.alias as string, did: r.did as string, detail: r.detail as string, expiresAt: r.expiresAt as number }
}
