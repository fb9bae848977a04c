import { parseJson, ProtocolError, type Json, type JsonObject } from '../verify/index.ts'
import type { ResolvedOptions } from './options.ts'

/** What one proof method found. `ttlSeconds` is how long the source says the answer holds. */
export interface Outcome {
  ok: boolean
  detail: string
  ttlSeconds?: number
}

/** The key whose alias is checked, in both spellings. */
export interface Key {
  did: string
  publicKey: Uint8Array
}

/**
 * One way of proving an alias. `check` gets the alias's value (what follows `scheme:`), returns
 * an outcome when the source answered, and throws `ProofFailure` or `OutboundError` when the alias
 * or the answer is unusable; `checkAlias` turns those into `ok: false`.
 */
export interface ProofMethod {
  readonly name: string
  check(alias: string, value: string, key: Key, o: ResolvedOptions): Promise<Outcome>
}

/** A proof that cannot be checked: a malformed alias or a malformed answer. Never a bug. */
export class ProofFailure extends Error {
  override readonly name = 'ProofFailure'
}

/** Answers are parsed with the protocol's strict parser: no duplicate keys, bounded nesting. */
export function parseJsonObject(text: string, url: string): JsonObject {
  let v: Json
  try {
    v = parseJson(text, { maxDepth: 16 })
  } catch (e) {
    if (e instanceof ProtocolError) throw new ProofFailure(`${url} sent malformed JSON: ${e.message}`, { cause: e })
    throw e
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProofFailure(`${url} sent JSON that is not an object`)
  return v
}

/**
 * Whether `text` contains `did` as a whole word: a did:key followed by more base58 characters is
 * a different (invalid) string, not a mention of this key.
 */
export function mentions(text: string, did: string): boolean {
  for (let i = text.indexOf(did); i !== -1; i = text.indexOf(did, i + 1)) {
    const before = text[i - 1]
    const after = text[i + did.length]
    if ((before === undefined || !/[A-Za-z0-9:]/.test(before)) && (after === undefined || !/[A-Za-z0-9]/.test(after))) return true
  }
  return false
}

export const shortDid = (did: string): string => `${did.slice(0, 16)}…${did.slice(-4)}`
