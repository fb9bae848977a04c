import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const MiB = 1024 * 1024

/** xorshift32: the same tree on every machine. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x / 2 ** 32
  }
}

/**
 * Writes a tree like a package or a source checkout under `root`: 90% of files small (100 B to
 * 64 KiB, log-uniform), the rest sharing what is left of `bytes` (sizes spread 1:64, log-uniform),
 * in 20 × 7 directories; 1 in 10 files executable. Deterministic for a seed. Returns each file's
 * path and bytes, in creation order.
 */
export function writeTree(root: string, plan: { bytes: number; files: number }, seed: number): { path: string; bytes: Uint8Array }[] {
  const random = rng(seed)
  const sizes: number[] = []
  let small = 0
  for (let i = 0; i < Math.round(plan.files * 0.9); i++) {
    const size = Math.floor(100 * Math.pow(655.36, random()))
    sizes.push(size)
    small += size
  }
  const weights = Array.from({ length: plan.files - sizes.length }, () => Math.pow(64, random()))
  const sum = weights.reduce((a, b) => a + b, 0)
  for (const w of weights) sizes.push(Math.floor(((plan.bytes - small) * w) / sum))

  const noise = new Uint8Array(16 * MiB)
  const view = new DataView(noise.buffer)
  for (let i = 0; i < noise.length; i += 4) view.setUint32(i, (random() * 2 ** 32) >>> 0, true)
  return sizes.map((size, i) => {
    const sub = join(root, `d${String(i % 20).padStart(2, '0')}`, `e${i % 7}`)
    mkdirSync(sub, { recursive: true })
    const path = join(sub, `f${i}.bin`)
    const start = Math.floor(random() * (noise.length - Math.min(size, noise.length)))
    const bytes = size <= noise.length ? noise.subarray(start, start + size) : Buffer.alloc(size, 0x5a)
    writeFileSync(path, bytes, { mode: i % 10 === 0 ? 0o755 : 0o644 })
    return { path, bytes }
  })
}

/**
 * Writes `count` small files (100 B to 4 KiB, log-uniform; 1 in 10 executable) under `root`, in
 * 30 × 10 directories: a source checkout or node_modules, where per-file cost is all there is.
 */
export function writeSmallFiles(root: string, count: number, seed: number): number {
  const random = rng(seed)
  const noise = new Uint8Array(4096).map(() => Math.floor(random() * 256))
  let bytes = 0
  for (let i = 0; i < count; i++) {
    const sub = join(root, `d${String(i % 30).padStart(2, '0')}`, `e${i % 10}`)
    if (i < 300) mkdirSync(sub, { recursive: true })
    const size = Math.floor(100 * Math.pow(40.96, random()))
    writeFileSync(join(sub, `f${i}.txt`), noise.subarray(0, size), { mode: i % 10 === 0 ? 0o755 : 0o644 })
    bytes += size
  }
  return bytes
}
