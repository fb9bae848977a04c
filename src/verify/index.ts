/** The vouch protocol: pure functions shared by the relay, the client and the policy engine. No I/O. */
export * from './bytes.ts'
export * from './did-key.ts'
export * from './ed25519.ts'
export * from './errors.ts'
export * from './hash.ts'
export * from './json.ts'
export * from './limits.ts'
export * from './statement.ts'
