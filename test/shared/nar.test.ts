import { describe, expect, it } from 'vitest'
import { narChunks, parseNar, type NarNode } from '../../src/nar/index.ts'
import { concat, hex, utf8 } from '../../src/verify/index.ts'

/**
 * The pure NAR code in both runtimes (workerd and Node). The tree below was written to disk and
 * hashed with `nix-hash --type sha256` (Nix 2.8.0): a.txt "hello\n" (0644), run.sh (0755),
 * link -> a.txt, sub/empty (empty, 0644).
 */
const NIX_SHA256 = '2673c2eff6fa2e6d7d91587d6e3617ed4e2ccf5a71b03143cdb2a851b9175821'

const file = (text: string, executable = false): NarNode => {
  const bytes = utf8(text)
  return { type: 'regular', executable, size: bytes.length, contents: () => [bytes] }
}
const tree: NarNode = {
  type: 'directory',
  // Deliberately unsorted: the serialiser sorts by name bytes.
  entries: () => [
    ['sub', { type: 'directory', entries: () => [['empty', file('')]] }],
    ['run.sh', file('#!/bin/sh\necho hi\n', true)],
    ['link', { type: 'symlink', target: 'a.txt' }],
    ['a.txt', file('hello\n')],
  ],
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of it) parts.push(p)
  return concat(...parts)
}

describe('NAR in this runtime', () => {
  it('serialises a tree to the bytes nix-hash hashes', async () => {
    const nar = await collect(narChunks(tree))
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', nar))
    expect(hex.encode(digest)).toBe(NIX_SHA256)
  })

  it('parses its own output back to the same entries, and refuses a truncated archive', async () => {
    const nar = await collect(narChunks(tree))
    const entries: string[] = []
    for await (const e of parseNar((async function* () { yield nar })())) {
      entries.push(`${e.type}:${e.path.map((p) => new TextDecoder().decode(p)).join('/')}`)
      if (e.type === 'regular') for await (const _ of e.contents) void _
    }
    expect(entries).toEqual(['directory:', 'regular:a.txt', 'symlink:link', 'regular:run.sh', 'directory:sub', 'regular:sub/empty'])
    await expect(async () => {
      for await (const e of parseNar((async function* () { yield nar.subarray(0, nar.length - 9) })())) {
        if (e.type === 'regular') for await (const _ of e.contents) void _
      }
    }).rejects.toThrow()
  })
})
