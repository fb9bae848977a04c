/**
 * The R2 writer worker's request body (bench/lib/r2-writer-worker.ts). No imports: the worker's
 * bundle then depends on nothing wrangler's watcher would rebuild it for while a long build runs
 * (a merge touching src/log would otherwise restart it mid-way).
 */
export interface R2Object {
  key: string
  bytes: Uint8Array
}

/** Objects framed for one POST to the writer worker: per object a u16 key length, the key, a u32 length, the bytes. */
export function frame(objects: R2Object[]): Uint8Array {
  const enc = new TextEncoder()
  const keys = objects.map((o) => enc.encode(o.key))
  const out = new Uint8Array(objects.reduce((t, o, i) => t + 6 + keys[i]!.length + o.bytes.length, 0))
  const view = new DataView(out.buffer)
  let at = 0
  objects.forEach((o, i) => {
    view.setUint16(at, keys[i]!.length)
    out.set(keys[i]!, at + 2)
    at += 2 + keys[i]!.length
    view.setUint32(at, o.bytes.length)
    out.set(o.bytes, at + 4)
    at += 4 + o.bytes.length
  })
  return out
}

export function unframe(bytes: Uint8Array): R2Object[] {
  const dec = new TextDecoder()
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out: R2Object[] = []
  for (let at = 0; at < bytes.length; ) {
    const kl = view.getUint16(at)
    const key = dec.decode(bytes.subarray(at + 2, at + 2 + kl))
    at += 2 + kl
    const n = view.getUint32(at)
    out.push({ key, bytes: bytes.subarray(at + 4, at + 4 + n) })
    at += 4 + n
  }
  return out
}
