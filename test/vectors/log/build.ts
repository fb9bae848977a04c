import {
  base64,
  consistencyProof,
  encodeBundle,
  formatCheckpoint,
  formatVerifierKey,
  inclusionProof,
  keyPairFromSeed,
  leafHash,
  signNote,
  tileHashReader,
  tilePath,
  tileRoot,
  TILE_WIDTH,
  treeRoot,
  utf8,
  type TileRef,
} from '../../../src/verify/index.ts'

/**
 * The log test vectors (docs/PROTOCOL.md "Log"): a fixed log of 300 entries signed by a fixed key,
 * laid out as the files a relay serves under its log prefix, so a static server of this directory
 * is a log. Ed25519 signatures are deterministic, so the files are a function of this code.
 */
export const ORIGIN = 'relay.example/vouch-log'
export const SEED = new Uint8Array(32).fill(0x42)
export const SIZES = [100, 300]

export const entryOf = (i: number) => utf8(JSON.stringify({ entry: i, text: 'vouch log test vector'.slice(0, i % 22) }))

export async function buildLogVectors(): Promise<Map<string, Uint8Array>> {
  const kp = await keyPairFromSeed(SEED)
  const size = SIZES[SIZES.length - 1]!
  const entries = Array.from({ length: size }, (_, i) => entryOf(i))
  const files = new Map<string, Uint8Array>()
  // Tiles of every size in SIZES, as a relay serves them: a reader of either checkpoint finds its own.
  const tiles = new Map<string, Uint8Array>()
  for (const n of SIZES) {
    let hashes = entries.slice(0, n).map(leafHash)
    for (let level = 0; hashes.length; level++) {
      const up: Uint8Array[] = []
      for (let i = 0; i * TILE_WIDTH < hashes.length; i++) {
        const t = hashes.slice(i * TILE_WIDTH, (i + 1) * TILE_WIDTH)
        const ref: TileRef = { level, index: i, width: t.length }
        tiles.set(`${level}/${i}`, Uint8Array.from(t.flatMap((h) => [...h])))
        files.set(tilePath(ref), tiles.get(`${level}/${i}`)!)
        if (level === 0) files.set(tilePath({ ...ref, level: 'entries' }), encodeBundle(entries.slice(i * TILE_WIDTH, Math.min(n, (i + 1) * TILE_WIDTH))))
        if (t.length === TILE_WIDTH) up.push(tileRoot(t))
      }
      hashes = up
    }
  }
  const reader = (n: number) => tileHashReader(n, async (level, index, width) => tiles.get(`${level}/${index}`)!.slice(0, width * 32))
  const h = reader(size)
  const roots: Record<string, string> = {}
  for (const n of SIZES) {
    const root = await treeRoot(n, reader(n))
    roots[n] = base64.encode(root)
    files.set(`checkpoint.${n}`, utf8(await signNote(formatCheckpoint({ origin: ORIGIN, size: n, root }), ORIGIN, kp.publicKey, kp.secretKey)))
  }
  files.set('checkpoint', files.get(`checkpoint.${size}`)!)
  const proofs = {
    comment: 'RFC 6962 proofs in the tree of size 300; hashes base64. Leaf hashes are SHA-256(0x00 ‖ entry).',
    origin: ORIGIN,
    verifierKey: formatVerifierKey(ORIGIN, kp.publicKey),
    roots,
    inclusion: await Promise.all(
      [0, 7, 255, 256, 299].map(async (index) => ({
        index,
        size,
        entry: new TextDecoder().decode(entries[index]),
        leafHash: base64.encode(leafHash(entries[index]!)),
        proof: (await inclusionProof(index, size, h)).map((x) => base64.encode(x)),
      })),
    ),
    consistency: [{ from: SIZES[0]!, to: size, proof: (await consistencyProof(SIZES[0]!, size, h)).map((x) => base64.encode(x)) }],
  }
  files.set('proofs.json', utf8(JSON.stringify(proofs, null, 2) + '\n'))
  return files
}

// `node --import tsx test/vectors/log/build.ts` rewrites the files.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { mkdirSync, writeFileSync } = await import('node:fs')
  const { dirname, join } = await import('node:path')
  const here = dirname(new URL(import.meta.url).pathname)
  for (const [path, bytes] of await buildLogVectors()) {
    mkdirSync(dirname(join(here, path)), { recursive: true })
    writeFileSync(join(here, path), bytes)
  }
}
