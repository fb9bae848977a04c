import { sign } from '../../../src/client/index.ts'
import { makeBundle, type Bundle } from '../../../src/cli/bundle.ts'
import { bundleLogOf } from '../../../src/cli/bundle-log.ts'
import { base64, consistencyProof, cosign, cosignerKey, encodeDidKey, formatCheckpoint, formatCosignerKey, formatVerifierKey, inclusionProof, keyPairFromSeed, leafHash, naiveRoot, signNote, utf8, type SubtreeHash } from '../../../src/verify/index.ts'

/**
 * The offline bundle vector (docs/POLICY.md "Offline bundles"): three statements by a fixed key,
 * logged at leaves 1, 4 and 6 of a fixed relay log of 7 entries (the others are filler entries),
 * with the log's signed checkpoint and each statement's inclusion proof. Its `bounds` case
 * (revocation "witnessed"): a witnessed checkpoint of the first WITNESSED_SIZE leaves, cosigned by
 * one witness at WITNESSED_AT (POSIX seconds), bounds the statements at leaves 1 and 4 (leaf 6 is
 * beyond it and has none), each with its inclusion proof in that tree and the consistency proof
 * from it to the checkpoint. Ed25519 signatures are deterministic, so `bundle.json` is a function
 * of this code.
 */
export const ORIGIN = 'relay.example/vouch-log'
export const RELAY = 'https://relay.example'
export const LOG_SEED = new Uint8Array(32).fill(0x42)
export const ACTOR_SEED = new Uint8Array(32).fill(0x07)
export const TIME = 1767225600000
export const A = 'sha512-H0D8ktokFpR1CXnubPWC8tXX0o4YM13gWrxU0FYOD1MChgxlK/CNVgJSql50IQVG82n7u86MEs/HlXsmUv6adQ=='
export const SLOTS = [1, 4, 6]
export const WITNESS_SEED = new Uint8Array(32).fill(0x43)
export const WITNESS = 'witness.example/bundle'
export const WITNESSED_SIZE = 5
export const WITNESSED_AT = TIME / 1000 + 60

/** The witness's verifier key, as a policy's `logs.witnesses[].key` names it. */
export const witnessKey = async () => formatCosignerKey(WITNESS, (await keyPairFromSeed(WITNESS_SEED)).publicKey)

export async function buildBundleVector(): Promise<{ bundle: Bundle; text: string; entries: Uint8Array[] }> {
  const actor = await keyPairFromSeed(ACTOR_SEED)
  const did = encodeDidKey(actor.publicKey)
  const statements = await Promise.all([
    sign({ v: 1, actor: did, subject: 'pkg:npm/good@1.0.0', claim: 'published', object: A, time: TIME }, actor),
    sign({ v: 1, actor: did, subject: 'pkg:npm/yanked@0.1.0', claim: 'published', object: A, time: TIME + 1 }, actor),
    sign({ v: 1, actor: did, subject: 'pkg:npm/yanked@0.1.0', claim: 'published', object: A, not: true, time: TIME + 2 }, actor),
  ])
  const entries = Array.from({ length: 7 }, (_, i) => utf8(`filler entry ${i}`))
  SLOTS.forEach((slot, k) => (entries[slot] = utf8(statements[k]!.canonical)))
  const leaves = entries.map(leafHash)
  const h: SubtreeHash = async (level, index) => naiveRoot(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level))
  const log = await keyPairFromSeed(LOG_SEED)
  const checkpoint = await signNote(formatCheckpoint({ origin: ORIGIN, size: entries.length, root: naiveRoot(leaves) }), ORIGIN, log.publicKey, log.secretKey)
  const evidence = [
    {
      relay: RELAY,
      origin: ORIGIN,
      verifierKey: formatVerifierKey(ORIGIN, log.publicKey),
      checkpoint,
      entries: await Promise.all(statements.map(async (s, k) => ({ id: s.id, index: SLOTS[k]!, proof: await inclusionProof(SLOTS[k]!, entries.length, h) }))),
    },
  ]
  const witness = await keyPairFromSeed(WITNESS_SEED)
  const wBody = formatCheckpoint({ origin: ORIGIN, size: WITNESSED_SIZE, root: naiveRoot(leaves.slice(0, WITNESSED_SIZE)) })
  const witnessed = (await signNote(wBody, ORIGIN, log.publicKey, log.secretKey)) + (await cosign(wBody, cosignerKey(WITNESS, witness.publicKey), witness.secretKey, WITNESSED_AT))
  const consistency = (await consistencyProof(WITNESSED_SIZE, entries.length, h)).map((x) => base64.encode(x))
  const bounds = await Promise.all(
    statements.flatMap((s, k) =>
      SLOTS[k]! < WITNESSED_SIZE ? [(async () => ({ statement: s.id, index: SLOTS[k]!, witnessed, inclusion: (await inclusionProof(SLOTS[k]!, WITNESSED_SIZE, h)).map((x) => base64.encode(x)), consistency }))()] : [],
    ),
  )
  const bundle = makeBundle({ name: 'package-lock.json', sha256: 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' }, statements, TIME + 3, bundleLogOf(evidence).map((g) => ({ ...g, bounds })))
  return { bundle, text: `${JSON.stringify(bundle, null, 2)}\n`, entries }
}

// `npm run vectors:bundle` (node --import tsx test/vectors/bundle/build.ts) rewrites bundle.json.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { writeFileSync } = await import('node:fs')
  writeFileSync(new URL('bundle.json', import.meta.url), (await buildBundleVector()).text)
}
