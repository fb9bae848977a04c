/**
 * Alias proofs a client checks itself (docs/POLICY.md, "Alias proofs"): whether a did:key really
 * is `dns:example.org`, `https://example.org`, `github:alice`, `forgejo:codeberg.org/alice`,
 * `sourcehut:~alice` or `bsky:alice.example`. Plain fetch, so the same code runs in Node and in a
 * Worker; the results feed the policy engine's `proofs`.
 */
export { type AliasChecks, checkAlias, checkAliases, METHODS } from './check.ts'
export type { AliasCheck, AliasProof } from './types.ts'
export { PROOF_TTL, ProofCache, type ProofCacheJson } from './cache.ts'
export { type Key, type Outcome, ProofFailure, type ProofMethod } from './method.ts'
export { DEFAULTS, type IdentityOptions } from './options.ts'
export { ed25519Blob, findSshKey } from './ssh.ts'
export { txtData } from './dns.ts'
