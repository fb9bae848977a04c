/**
 * Splits the log's integration CPU (src/log/integrate.ts) into the Worker's own JavaScript, D1 and
 * R2, inside workerd. Locally D1 and R2 run in the Worker's process, so the relay's figure counts
 * their server work, which on Cloudflare is not the Worker's CPU. The benchmark (bench/log-stages.ts)
 * reads this process's CPU time around each request.
 *
 *   POST /prepare                  body: a JSON array of statements; verified and kept
 *   POST /insert                   insertStatements of what /prepare kept (ingest's D1 part)
 *   POST /snapshot                 reads every complete tile's rows once (unmeasured), for the stages
 *   POST /run?stage=NAME&reps=r    one stage, r times (names: GET /stages)
 *   POST /full                     the relay's integrate() on the real D1 and R2, once
 *   POST /drop?start=a&end=b       dropIntegratedBodies on the real D1, once
 *
 * `integrate() over in-memory D1 and R2` replaces the bindings with stand-ins that answer the same
 * calls, and hands the rows over as JSON text parsed on each read, since a D1 binding's results
 * arrive as JSON and are parsed in the Worker's isolate. In-memory bindings exist only here.
 */
import type { RelayEnv } from '../../src/config.ts'
import { integrate } from '../../src/log/integrate.ts'
import { dropIntegratedBodies, leafEntries, putTile } from '../../src/log/store.ts'
import { fillAll, type RawRow } from '../../src/store/bodies.ts'
import { BODY, insertStatements } from '../../src/store/statements.ts'
import { concat, encodeBundle, hashFullTile, leafHash, tileRoot, TILE_WIDTH, utf8, verifyStatement, type VerifiedStatement } from '../../src/verify/index.ts'

interface Env {
  DB: D1Database
  BLOBS: R2Bucket
}

let prepared: VerifiedStatement[] = []
let size = 0
/** Per complete tile: D1's rows as JSON text, and the entries, hashes, bundle and level-0 tile computed from them. */
let tiles: { raw: string; entries: Uint8Array[]; hashes: Uint8Array[]; bundle: Uint8Array; tile: Uint8Array; upper: Uint8Array }[] = []

const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { 'content-type': 'application/json' } })

/** A D1 stand-in for exactly the queries integrate() makes. */
function memoryDb(): D1Database {
  const stmt = (sql: string) => ({
    bind: (...args: unknown[]) => ({
      sql,
      args,
      raw: async () => {
        if (!sql.includes('FROM statements WHERE seq >')) throw new Error(`memory D1: unexpected query ${sql}`)
        return JSON.parse(tiles[Number(args[0]) / TILE_WIDTH]!.raw) as unknown[][]
      },
    }),
    first: async () => size,
  })
  return { prepare: stmt, batch: async (s: unknown[]) => s.map(() => ({ results: [], success: true, meta: { rows_written: 0 } })) } as unknown as D1Database
}

/** An R2 stand-in: a Map, the put's checksum option ignored (the digest is still computed by putTile). */
function memoryBucket(): R2Bucket {
  const m = new Map<string, Uint8Array>()
  const obj = (b: Uint8Array) => ({ text: async () => new TextDecoder().decode(b), arrayBuffer: async () => b.slice().buffer })
  return {
    get: async (k: string) => (m.has(k) ? obj(m.get(k)!) : null),
    put: async (k: string, v: Uint8Array | string) => void m.set(k, typeof v === 'string' ? utf8(v) : v),
  } as unknown as R2Bucket
}

/** Also named in bench/log-stages.ts: the Worker's own CPU. */
const MEMORY = 'integrate() over in-memory D1 and R2'

const each = (f: (t: (typeof tiles)[number], k: number) => unknown) => () => Promise.all(tiles.map(f))

const STAGES: Record<string, (env: Env) => () => unknown> = {
  [MEMORY]: () => () => integrate({ DB: memoryDb(), BLOBS: memoryBucket() } as unknown as RelayEnv, Infinity, size),
  'JSON.parse of the rows as arrays (the D1 binding decodes its answer)': () => each((t) => JSON.parse(t.raw)),
  'utf8 of 256 bodies': () => each((t) => (JSON.parse(t.raw) as [number, string, string][]).map((r) => utf8(r[2]))),
  'hashFullTile: 256 leaf hashes + root (WebCrypto, a batch per level)': () => each((t) => hashFullTile(t.entries)),
  '(before: 256 × leafHash + tileRoot, node:crypto one call at a time)': () => each((t) => tileRoot(t.entries.map(leafHash))),
  'encodeBundle + concat of the 256 hashes': () => each((t) => (encodeBundle(t.entries), concat(...t.hashes))),
  'SHA-256 of bundle and tile for R2 (crypto.subtle.digest)': () => each((t) => Promise.all([crypto.subtle.digest('SHA-256', t.bundle), crypto.subtle.digest('SHA-256', t.tile)])),
  'D1: read 256 rows with bodies (leafEntries, local D1)': (env) => each((_, k) => leafEntries(env.DB, k * TILE_WIDTH, TILE_WIDTH)),
  '(before: the same query with .all(), an object per row, + fillAll)': (env) =>
    each((_, k) =>
      env.DB.prepare(`SELECT seq, id, ${BODY} FROM statements WHERE seq > ?1 AND seq <= ?2 ORDER BY seq`)
        .bind(k * TILE_WIDTH, (k + 1) * TILE_WIDTH)
        .all<RawRow>()
        .then(({ results }) => fillAll(env.DB, results)),
    ),
  'R2: put bundle, level-0 tile, level-1 tile (local R2)': (env) =>
    each((t, k) =>
      Promise.all([
        putTile(env.BLOBS, { level: 'entries', index: k, width: TILE_WIDTH }, t.bundle),
        putTile(env.BLOBS, { level: 0, index: k, width: TILE_WIDTH }, t.tile),
        putTile(env.BLOBS, { level: 1, index: 0, width: k + 1 }, t.upper),
      ]),
    ),
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url)
    const reps = Number(url.searchParams.get('reps') ?? 1)
    if (request.method === 'GET' && url.pathname === '/stages') return json(Object.keys(STAGES))
    if (request.method === 'POST' && url.pathname === '/prepare') {
      const now = Date.now()
      prepared = await Promise.all(((await request.json()) as unknown[]).map((v) => verifyStatement(v, { now })))
      return json({ prepared: prepared.length })
    }
    if (request.method === 'POST' && url.pathname === '/insert') {
      const fresh = (await insertStatements(env.DB, prepared)).size
      if (fresh !== prepared.length) return json({ error: `only ${fresh} of ${prepared.length} rows were new` }, 500)
      prepared = []
      return json({ inserted: fresh })
    }
    if (request.method === 'POST' && url.pathname === '/snapshot') {
      size = (await env.DB.prepare('SELECT max(seq) AS n FROM statements').first<number>('n')) ?? 0
      tiles = []
      let upper: Uint8Array = new Uint8Array(0)
      for (let k = 0; (k + 1) * TILE_WIDTH <= size; k++) {
        const { results } = await env.DB.prepare(`SELECT seq, id, ${BODY} FROM statements WHERE seq > ?1 AND seq <= ?2 ORDER BY seq`)
          .bind(k * TILE_WIDTH, (k + 1) * TILE_WIDTH)
          .all<RawRow>()
        const entries = results.map((r) => utf8(r.body!))
        const hashes = entries.map(leafHash)
        upper = concat(upper, tileRoot(hashes))
        tiles.push({ raw: JSON.stringify(results.map((r) => [r.seq, r.id, r.body])), entries, hashes, bundle: encodeBundle(entries), tile: concat(...hashes), upper })
      }
      return json({ size, tiles: tiles.length })
    }
    if (request.method === 'POST' && url.pathname === '/run') {
      const stage = STAGES[url.searchParams.get('stage') ?? '']
      if (!stage) return json({ error: 'no such stage' }, 404)
      if (!tiles.length) return json({ error: 'POST /snapshot first' }, 409)
      const run = stage(env)
      for (let r = 0; r < reps; r++) await run()
      return json({ statements: tiles.length * TILE_WIDTH * reps })
    }
    if (request.method === 'POST' && url.pathname === '/full') return json(await integrate(env as unknown as RelayEnv, Infinity, size))
    if (request.method === 'POST' && url.pathname === '/drop') {
      const rows = await dropIntegratedBodies(env.DB, Number(url.searchParams.get('start')), Number(url.searchParams.get('end')))
      return json({ rows })
    }
    return json({ ok: true })
  },
} satisfies ExportedHandler<Env>
