import { createHash } from 'node:crypto'
import { concat, equalBytes } from './bytes.ts'

/**
 * A transparency log's Merkle tree (RFC 6962 hashing) and its tiles (C2SP tlog-tiles). Pure: the
 * relay builds tiles with it, clients and tests recompute roots and check proofs with it.
 *
 * Hashing is synchronous, with node:crypto (native in Node and in workerd with nodejs_compat): a
 * tree is millions of 65-byte hashes, where one awaited WebCrypto call per node costs more than
 * the hash, and @noble/hashes in workerd measured ~20 µs a node hash (integration then cost 40% of
 * ingest CPU).
 */

export const HASH_SIZE = 32
/** Tile height 8: a tile holds up to 256 hashes of one tree level. */
export const TILE_HEIGHT = 8
export const TILE_WIDTH = 1 << TILE_HEIGHT
/** An entry bundle's entries are prefixed by a big-endian uint16 length. */
export const ENTRY_MAX_BYTES = 0xffff

const LEAF = Uint8Array.of(0)
const NODE = Uint8Array.of(1)

const digest = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}
export const leafHash = (entry: Uint8Array): Uint8Array => digest(LEAF, entry)
export const nodeHash = (left: Uint8Array, right: Uint8Array): Uint8Array => digest(NODE, left, right)
/** The root of the empty tree: SHA-256 of nothing (RFC 6962 §2.1). */
export const emptyRoot = (): Uint8Array => digest()

/** The largest power of two strictly below n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

/** MTH over leaf hashes, the RFC 6962 definition read literally: the model the tiled code is checked against. */
export function naiveRoot(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return emptyRoot()
  if (leaves.length === 1) return leaves[0]!
  const k = splitPoint(leaves.length)
  return nodeHash(naiveRoot(leaves.slice(0, k)), naiveRoot(leaves.slice(k)))
}

/** The hash of a complete subtree at `level` (2^level leaves) and index `index` of that level. */
export type SubtreeHash = (level: number, index: number) => Promise<Uint8Array>

/**
 * The hash of leaves [lo, hi) where lo is a multiple of the largest power of two ≤ hi − lo, as
 * every range RFC 6962's recursions visit is: complete subtrees from the left, folded from the right.
 */
async function rangeHash(lo: number, hi: number, h: SubtreeHash): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  while (lo < hi) {
    let level = 0
    while (lo % 2 ** (level + 1) === 0 && lo + 2 ** (level + 1) <= hi) level++
    parts.push(await h(level, lo / 2 ** level))
    lo += 2 ** level
  }
  let acc = parts.pop()!
  while (parts.length) acc = nodeHash(parts.pop()!, acc)
  return acc
}

export function checkSize(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative safe integer, got ${n}`)
}

/** The tree head of the first `size` leaves. */
export function treeRoot(size: number, h: SubtreeHash): Promise<Uint8Array> {
  checkSize('size', size)
  return size === 0 ? Promise.resolve(emptyRoot()) : rangeHash(0, size, h)
}

/** RFC 6962 PATH(index, D[size]): the audit path of one leaf. */
export async function inclusionProof(index: number, size: number, h: SubtreeHash): Promise<Uint8Array[]> {
  checkSize('size', size)
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw new RangeError(`index must be in [0, ${size}), got ${index}`)
  const path = async (m: number, lo: number, hi: number): Promise<Uint8Array[]> => {
    if (hi - lo === 1) return []
    const k = splitPoint(hi - lo)
    return m < lo + k ? [...(await path(m, lo, lo + k)), await rangeHash(lo + k, hi, h)] : [...(await path(m, lo + k, hi)), await rangeHash(lo, lo + k, h)]
  }
  return path(index, 0, size)
}

/** RFC 6962 PROOF(m, D[n]): that the tree of size m is a prefix of the tree of size n. */
export async function consistencyProof(m: number, n: number, h: SubtreeHash): Promise<Uint8Array[]> {
  checkSize('n', n)
  if (!Number.isSafeInteger(m) || m < 1 || m > n) throw new RangeError(`m must be in [1, ${n}], got ${m}`)
  const sub = async (m: number, lo: number, hi: number, whole: boolean): Promise<Uint8Array[]> => {
    if (m === hi - lo) return whole ? [] : [await rangeHash(lo, hi, h)]
    const k = splitPoint(hi - lo)
    return m <= k
      ? [...(await sub(m, lo, lo + k, whole)), await rangeHash(lo + k, hi, h)]
      : [...(await sub(m - k, lo + k, hi, false)), await rangeHash(lo, lo + k, h)]
  }
  return sub(m, 0, n, true)
}

/** RFC 9162 §2.1.3.2: whether `proof` shows leaf `index` with hash `leaf` is in the tree (size, root). */
export function verifyInclusion(index: number, size: number, leaf: Uint8Array, proof: Uint8Array[], root: Uint8Array): boolean {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) return false
  let fn = index
  let sn = size - 1
  let r = leaf
  for (const p of proof) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r)
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) (fn = Math.floor(fn / 2)), (sn = Math.floor(sn / 2))
    } else r = nodeHash(r, p)
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && equalBytes(r, root)
}

/** RFC 9162 §2.1.4.2: whether `proof` shows the tree (m, oldRoot) is a prefix of (n, newRoot). */
export function verifyConsistency(m: number, n: number, proof: Uint8Array[], oldRoot: Uint8Array, newRoot: Uint8Array): boolean {
  if (!(Number.isSafeInteger(m) && Number.isSafeInteger(n) && m >= 0 && m <= n)) return false
  if (m === n) return proof.length === 0 && equalBytes(oldRoot, newRoot)
  if (m === 0) return proof.length === 0 // the empty tree is a prefix of every tree
  if (proof.length === 0) return false
  // A power-of-two m is a complete subtree: its root is the proof's implicit first element.
  const r = rebuildConsistency(m, n, (m & (m - 1)) === 0 ? [oldRoot, ...proof] : proof)
  return r !== undefined && equalBytes(r.oldRoot, oldRoot) && equalBytes(r.newRoot, newRoot)
}

/**
 * The roots a consistency path rebuilds for the first m leaves and for all n (RFC 9162 §2.1.4.2
 * run forwards), or undefined when the path has the wrong length for (m, n). Unlike a plain
 * proof, the path always starts with the hash it folds from: for a power-of-two m that is the
 * m-leaf subtree's root, which an ordinary proof leaves out because the verifier already has it.
 */
export function rebuildConsistency(m: number, n: number, path: readonly Uint8Array[]): { oldRoot: Uint8Array; newRoot: Uint8Array } | undefined {
  if (!(Number.isSafeInteger(m) && Number.isSafeInteger(n) && m >= 1 && m < n) || path.length === 0) return undefined
  let fn = m - 1
  let sn = n - 1
  while (fn % 2 === 1) (fn = Math.floor(fn / 2)), (sn = Math.floor(sn / 2))
  let fr = path[0]!
  let sr = path[0]!
  for (const c of path.slice(1)) {
    if (sn === 0) return undefined
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr)
      sr = nodeHash(c, sr)
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) (fn = Math.floor(fn / 2)), (sn = Math.floor(sn / 2))
    } else sr = nodeHash(sr, c)
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 ? { oldRoot: fr, newRoot: sr } : undefined
}

/** The root of one tile's hashes (a complete subtree when the tile is full). */
export function tileRoot(hashes: Uint8Array[]): Uint8Array {
  return naiveRoot(hashes)
}

/**
 * The leaf hashes of a power-of-two run of entries (a full tile) and the root over them: the same
 * bytes as `entries.map(leafHash)` and `tileRoot`, computed with WebCrypto, every hash of a tree
 * level issued at once over views of one buffer. For the relay's integration: in workerd a
 * node:crypto hash costs ~3.5 µs per call whatever its size (an entry's bytes ~0.5 µs of that),
 * and concurrent `subtle.digest` calls measured about a third less per hash (docs/PERFORMANCE.md,
 * "Where integration's CPU goes"). Synchronous callers keep `leafHash`, whose single await-free
 * call is what a proof check wants.
 */
export async function hashFullTile(entries: Uint8Array[]): Promise<{ hashes: Uint8Array[]; root: Uint8Array }> {
  const n = entries.length
  if (n === 0 || (n & (n - 1)) !== 0) throw new RangeError(`entries must be a power-of-two count, got ${n}`)
  const input = new Uint8Array(entries.reduce((t, e) => t + 1 + e.length, 0))
  const views: Uint8Array[] = []
  let o = 0
  for (const e of entries) {
    input.set(e, o + 1) // input[o] stays 0x00, the leaf prefix
    views.push(input.subarray(o, o + 1 + e.length))
    o += 1 + e.length
  }
  const hashes = await digestAll(views)
  let level = hashes
  while (level.length > 1) {
    const pairs = new Uint8Array((level.length / 2) * (1 + 2 * HASH_SIZE))
    const nodes: Uint8Array[] = []
    for (let i = 0, p = 0; i < level.length; i += 2, p += 1 + 2 * HASH_SIZE) {
      pairs[p] = 1
      pairs.set(level[i]!, p + 1)
      pairs.set(level[i + 1]!, p + 1 + HASH_SIZE)
      nodes.push(pairs.subarray(p, p + 1 + 2 * HASH_SIZE))
    }
    level = await digestAll(nodes)
  }
  return { hashes, root: level[0]! }
}

const digestAll = async (inputs: Uint8Array[]): Promise<Uint8Array[]> =>
  (await Promise.all(inputs.map((b) => crypto.subtle.digest('SHA-256', b)))).map((d) => new Uint8Array(d))

/** Splits a tile's bytes into its hashes; RangeError when the length is not whole hashes. */
export function splitTile(bytes: Uint8Array): Uint8Array[] {
  if (bytes.length % HASH_SIZE !== 0 || bytes.length > TILE_WIDTH * HASH_SIZE) throw new RangeError(`tile length ${bytes.length} is not 1..256 hashes`)
  const out: Uint8Array[] = []
  for (let o = 0; o < bytes.length; o += HASH_SIZE) out.push(bytes.slice(o, o + HASH_SIZE))
  return out
}

/** Entries of a bundle, each prefixed by its big-endian uint16 length. */
export function encodeBundle(entries: Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = []
  for (const e of entries) {
    if (e.length > ENTRY_MAX_BYTES) throw new RangeError(`an entry is ${e.length} bytes; a bundle holds at most ${ENTRY_MAX_BYTES}`)
    parts.push(Uint8Array.of(e.length >> 8, e.length & 0xff), e)
  }
  return concat(...parts)
}

export function decodeBundle(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  let o = 0
  while (o < bytes.length) {
    if (o + 2 > bytes.length) throw new RangeError('entry bundle ends inside a length prefix')
    const n = (bytes[o]! << 8) | bytes[o + 1]!
    if (o + 2 + n > bytes.length) throw new RangeError('entry bundle ends inside an entry')
    out.push(bytes.slice(o + 2, o + 2 + n))
    o += 2 + n
  }
  return out
}

/** Which tile (its level, index and width) holds level-`level` hashes for a tree of `size`. */
export function tileWidth(level: number, index: number, size: number): number {
  const atLevel = Math.floor(size / TILE_WIDTH ** level)
  return Math.max(0, Math.min(TILE_WIDTH, atLevel - index * TILE_WIDTH))
}

/** Fetches tile (level, index, width) bytes: `level` -1 is never asked of a hash source. */
export type TileSource = (level: number, index: number, width: number) => Promise<Uint8Array>

/**
 * Subtree hashes of a tree of `size` read from its tiles, each tile fetched once. Hashes between
 * tile levels are recomputed from the tile below's hashes, as tlog-tiles intends.
 */
export function tileHashReader(size: number, fetchTile: TileSource): SubtreeHash {
  const tiles = new Map<string, Promise<Uint8Array[]>>()
  const tile = (level: number, index: number) => {
    const width = tileWidth(level, index, size)
    const key = `${level}/${index}`
    let t = tiles.get(key)
    if (!t) {
      t = fetchTile(level, index, width).then((bytes) => {
        const hs = splitTile(bytes)
        if (hs.length !== width) throw new RangeError(`tile ${key} has ${hs.length} hashes, expected ${width}`)
        return hs
      })
      tiles.set(key, t)
    }
    return t
  }
  return async (level, index) => {
    const t = Math.floor(level / TILE_HEIGHT)
    const within = level % TILE_HEIGHT
    const first = index * 2 ** within // index at tree level t * TILE_HEIGHT
    if ((first + 2 ** within) * TILE_WIDTH ** t > size) throw new RangeError(`subtree ${level}/${index} is not complete in a tree of ${size}`)
    const hs = await tile(t, Math.floor(first / TILE_WIDTH))
    const start = first % TILE_WIDTH
    return naiveRoot(hs.slice(start, start + 2 ** within))
  }
}
