/**
 * The client's cost of witnessed time bounds (issue 16.6, PROTOCOL §6.13): proving a bound for N
 * statements of revoked keys (one witnessed checkpoint per statement, its cosignatures, a
 * consistency proof to the current checkpoint and an inclusion proof, from tiles), beside
 * verifying the same statements' signatures in the same run. A loopback server plays the relay:
 * a log of 16,384 statements, witnessed every 256 leaves by two witnesses. Rows for
 * `npm run bench -- log`.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { LogChecker, TileCache, witnessedTimes, type BoundRequirement } from '../src/client/index.ts'
import {
  canonicalize,
  cosign,
  cosignerKey,
  formatCheckpoint,
  formatVerifierKey,
  keyPairFromSeed,
  leafHash,
  naiveRoot,
  parseTilePath,
  signNote,
  TILE_WIDTH,
  utf8,
  verifyStatement,
  concat,
  type Json,
} from '../src/verify/index.ts'
import { makeKeys, signPool } from './lib/statements.ts'
import { fmt, percentile } from './lib/stats.ts'

const ORIGIN = 'bench.test/vouch-log'
const LEAVES = 16_384
const EVERY = 256

export async function timeBoundRows(counts: readonly number[] = [10, 100]): Promise<[string, string][]> {
  const keys = await makeKeys(4)
  const statements = await signPool(keys, `tb${Date.now()}`, LEAVES, Date.now() - 7_200_000)
  const hashes = statements.map((s) => leafHash(utf8(canonicalize(s as unknown as Json))))
  const logKey = await keyPairFromSeed(new Uint8Array(32).fill(3))
  const ws = await Promise.all([0, 1].map(async (i) => ({ pair: await keyPairFromSeed(new Uint8Array(32).fill(40 + i)), name: `w${i}.bench.test/vouch-witness` })))
  const witnesses = ws.map((w) => cosignerKey(w.name, w.pair.publicKey))
  const time = Math.floor(Date.now() / 1000) - 3600
  // Subtree roots of 256 leaves, so every tile and checkpoint is a fold of a few of them.
  const chunk = Array.from({ length: LEAVES / TILE_WIDTH }, (_, i) => naiveRoot(hashes.slice(i * TILE_WIDTH, (i + 1) * TILE_WIDTH)))
  // A tree of whole 256-leaf chunks splits at chunk boundaries, so its root folds the chunk roots.
  const treeRoot = (size: number) => naiveRoot(chunk.slice(0, size / TILE_WIDTH))
  const noteFor = async (size: number, lines: boolean) => {
    const body = formatCheckpoint({ origin: ORIGIN, size, root: treeRoot(size) })
    const signed = await signNote(body, ORIGIN, logKey.publicKey, logKey.secretKey)
    return lines ? signed + (await Promise.all(ws.map((w, i) => cosign(body, witnesses[i]!, w.pair.secretKey, time + size / EVERY)))).join('') : signed
  }
  const witnessed = new Map<number, string>()
  for (let size = EVERY; size <= LEAVES; size += EVERY) witnessed.set(size, await noteFor(size, true))
  const current = await noteFor(LEAVES, false)
  const server = createServer((req, res) => {
    const u = new URL(req.url!, 'http://x')
    const send = (status: number, body: string | Uint8Array) => res.writeHead(status).end(body)
    if (u.pathname === '/.well-known/vouch') return send(200, JSON.stringify({ log: { origin: ORIGIN, verifierKey: formatVerifierKey(ORIGIN, logKey.publicKey), prefix: '/v1/log' } }))
    if (u.pathname === '/v1/log/checkpoint') return send(200, current)
    if (u.pathname === '/v1/log/witnessed') return send(200, witnessed.get((Math.floor(Number(u.searchParams.get('index')) / EVERY) + 1) * EVERY)!)
    const t = parseTilePath(u.pathname.slice('/v1/log/'.length))
    if (!t || t.level === 'entries') return send(404, '')
    const level = t.level === 0 ? hashes : chunk
    return send(200, concat(...level.slice(t.index * TILE_WIDTH, t.index * TILE_WIDTH + t.width)))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const req: BoundRequirement = { witnesses, k: 2 }
  const rows: [string, string][] = []
  try {
    for (const n of counts) {
      const stride = Math.floor(LEAVES / n)
      const picked = Array.from({ length: n }, (_, i) => i * stride)
      const facts = picked.map((index) => ({ id: `id${index}`, statement: statements[index]! }))
      const runs = { sig: [] as number[], cold: [] as number[], warm: [] as number[] }
      for (let round = 0; round < 3; round++) {
        let t = performance.now()
        for (const index of picked) await verifyStatement(statements[index], { now: Date.now() })
        runs.sig.push(performance.now() - t)
        const tiles = new TileCache()
        for (const phase of ['cold', 'warm'] as const) {
          const log = new LogChecker({ tiles })
          log.keepEvidence()
          await log.check(base, picked.map((index, k) => ({ index, canonical: canonicalize(statements[index] as unknown as Json), id: facts[k]!.id })))
          t = performance.now()
          const r = await witnessedTimes(log, facts, new Set(keys.map((k) => k.did)), req)
          runs[phase].push(performance.now() - t)
          if (r.bounds.size !== n) throw new Error(`only ${r.bounds.size} of ${n} statements got a bound: ${JSON.stringify(r.refused[0])}`)
        }
      }
      const [sig, cold, warm] = [percentile(runs.sig, 50), percentile(runs.cold, 50), percentile(runs.warm, 50)]
      rows.push([`client: verify ${n} statement signatures (baseline), median of 3`, `${fmt(sig)} ms`])
      rows.push([`client: witnessed time bounds for ${n} statements (k = 2), after the inclusion check (tiles cached)`, `${fmt(cold)} ms = ${(cold / sig).toFixed(1)}× the signature checks`])
      rows.push([`client: the same with this command's proofs warm`, `${fmt(warm)} ms = ${(warm / sig).toFixed(1)}× the signature checks`])
    }
  } finally {
    server.close()
  }
  return rows
}

export async function main(): Promise<void> {
  for (const [k, v] of await timeBoundRows()) console.log(`${k}: ${v}`)
}
