/**
 * The shapes alias checking hands to others: the policy engine takes `AliasProof`s, caches and
 * explanations keep `AliasCheck`s. A leaf with no imports, so the policy (which must stay pure)
 * and every identity module can name them without pulling in the fetching code, and so the cache
 * does not import the checker that imports the cache.
 */

/** An alias proof the identity layer checked: `did` proved `alias` by `method`. */
export interface AliasProof {
  did: string
  alias: string
  method: string
}

/** The outcome of checking one alias claim, kept for explanations and caching. */
export interface AliasCheck {
  ok: boolean
  /** The proof method (`dns`, `https`, `github`, `forgejo`, `sourcehut`, `bsky`), or the unknown scheme. */
  method: string
  alias: string
  did: string
  /** One sentence for a human: what was looked up and what was found. */
  detail: string
  /** Until when (ms since the epoch) this result may be reused. */
  expiresAt: number
}
