/** Software identity, served at /.well-known/vouch. Kept in step with package.json by a test. */
export const SOFTWARE = { name: 'vouch-relay', version: '0.1.0' } as const
export const PROTOCOL_VERSION = 1
