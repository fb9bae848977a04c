import {
  consistencyProof,
  encodeDidKey,
  evidencePath,
  formatCheckpoint,
  formatEvidence,
  formatVerifierKey,
  keyPairFromSeed,
  leafHash,
  naiveRoot,
  signNote,
  signStatement,
  utf8,
  EQUIVOCATION_CLAIM,
  type Evidence,
  type KeyPair,
  type SubtreeHash,
} from '../../../src/verify/index.ts'

/**
 * Equivocation evidence vectors (PROTOCOL §6.12): one log key signs checkpoints of an honest log
 * and of a fork of it (entry 3 replaced), and each case says what `proveEquivocation` must decide.
 * Ed25519 is deterministic, so `npm run vectors:equivocation` rewrites evidence.json byte for byte.
 */
export const ORIGIN = 'relay.example/vouch-log'
export const LOG_SEED = new Uint8Array(32).fill(0x45)
export const REPORTER_SEED = new Uint8Array(32).fill(0x46)
export const TIME = 1_777_900_000_000

const entries = (fork: boolean) => Array.from({ length: 13 }, (_, i) => utf8(fork && i === 3 ? 'entry 3, as the fork tells it' : `entry ${i}`))
const subtrees = (leaves: Uint8Array[]): SubtreeHash => async (level, index) => naiveRoot(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level))

export async function buildEquivocationVectors(): Promise<string> {
  const log = await keyPairFromSeed(LOG_SEED)
  const other = await keyPairFromSeed(new Uint8Array(32).fill(0x47))
  const verifierKey = formatVerifierKey(ORIGIN, log.publicKey)
  const honest = entries(false).map(leafHash)
  const forked = entries(true).map(leafHash)
  const note = (leaves: Uint8Array[], size: number, key: KeyPair = log, origin = ORIGIN) =>
    signNote(formatCheckpoint({ origin, size, root: naiveRoot(leaves.slice(0, size)) }), ORIGIN, key.publicKey, key.secretKey)
  /** Evidence that tree (n, `big`) does or does not extend (m, `small`), the path from `big`. */
  const pair = async (small: Uint8Array[], m: number, big: Uint8Array[], n: number): Promise<Evidence> =>
    formatEvidence(await note(small, m), await note(big, n), await evidencePath(m, n, await consistencyProof(m, n, subtrees(big.slice(0, n))), subtrees(big.slice(0, n))))
  const cases: { name: string; evidence: Evidence; proven?: 'same-size' | 'inconsistent'; error?: string }[] = []
  cases.push({ name: 'two roots for one size', evidence: formatEvidence(await note(honest, 13), await note(forked, 13), []), proven: 'same-size' })
  cases.push({ name: 'm = 5 (not a power of two): the fork does not extend the honest tree', evidence: await pair(honest, 5, forked, 13), proven: 'inconsistent' })
  cases.push({ name: 'm = 4 (a power of two): the subtree hash is sent explicitly', evidence: await pair(honest, 4, forked, 13), proven: 'inconsistent' })
  cases.push({ name: 'm = 8 (a power of two), n = 9', evidence: await pair(forked, 8, honest, 9), proven: 'inconsistent' })
  cases.push({ name: 'consistent checkpoints prove nothing', evidence: await pair(honest, 5, honest, 13), error: 'unproven_equivocation' })
  cases.push({ name: 'the fork diverges after m: consistent', evidence: await pair(honest, 3, forked, 13), error: 'unproven_equivocation' })
  const garbage = await pair(honest, 5, forked, 13)
  cases.push({ name: 'garbage hashes prove nothing', evidence: { ...garbage, proof: garbage.proof.map(() => 'A'.repeat(43) + '=') }, error: 'unproven_equivocation' })
  cases.push({ name: 'a proof of the wrong length', evidence: { ...garbage, proof: garbage.proof.slice(1) }, error: 'unproven_equivocation' })
  cases.push({ name: 'one checkpoint signed by another key', evidence: formatEvidence(await note(honest, 13), await note(forked, 13, other), []), error: 'unproven_equivocation' })
  cases.push({ name: 'same size, same root', evidence: formatEvidence(await note(honest, 13), await note(honest, 13), []), error: 'unproven_equivocation' })
  cases.push({ name: 'the larger tree first', evidence: { ...garbage, checkpoints: [garbage.checkpoints[1], garbage.checkpoints[0]] }, error: 'bad_evidence' })
  cases.push({ name: 'two origins under one key', evidence: formatEvidence(await note(honest, 13), await note(forked, 13, log, 'relay.example/other-log'), []), error: 'unproven_equivocation' })
  const reporter = await keyPairFromSeed(REPORTER_SEED)
  const statement = await signStatement({ v: 1, actor: encodeDidKey(reporter.publicKey), subject: verifierKey, claim: EQUIVOCATION_CLAIM, time: TIME, meta: { ...cases[1]!.evidence } }, reporter.secretKey)
  return (
    JSON.stringify(
      {
        comment: `log-equivocation evidence for the log ${ORIGIN}. Log key seed: 32 bytes of 0x45; "another key": 0x47; the reporter: 0x46. The fork replaces entry 3 of 13 ("entry <i>").`,
        verifierKey,
        cases,
        statement,
      },
      null,
      2,
    ) + '\n'
  )
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { writeFileSync } = await import('node:fs')
  writeFileSync(new URL('./evidence.json', import.meta.url), utf8(await buildEquivocationVectors()))
}
