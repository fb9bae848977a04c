import { encodeDidKey, keyPairFromSeed, signStatement, type KeyPair, type Statement, type UnsignedStatement } from '../src/verify/index.ts'

/** Deterministic test keys: seed n is 32 bytes of n. */
export async function testKey(n: number): Promise<KeyPair & { did: string }> {
  const kp = await keyPairFromSeed(new Uint8Array(32).fill(n))
  return { ...kp, did: encodeDidKey(kp.publicKey) }
}

export const HASH_A = 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='

export async function makeStatement(
  key: KeyPair & { did: string },
  fields: Partial<UnsignedStatement> = {},
): Promise<Statement> {
  return signStatement(
    { v: 1, actor: key.did, subject: 'pkg:generic/mylib@1.2.3', claim: 'source', object: HASH_A, time: 1_777_895_712_055, ...fields },
    key.secretKey,
  )
}
