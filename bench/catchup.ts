/**
 * Catch-up benchmark (issue 16.7): a source relay holds N statements in its log; two fresh mirrors
 * copy it, one from the log's entry bundles (PROTOCOL §6.10, "Catching up from a log"), one from
 * feed pages (its view of the source has no log), in the same run. Each mirror reads the source
 * through a counting proxy (bytes on the wire, one client address a request so no per-IP limit
 * is measured); the source counts the D1 rows its queries read (bench/catchup-source.ts).
 * `npm run bench -- catchup [--quick] [--n N]`; docs/PERFORMANCE.md, "Catch-up from tiles".
 */
import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { unstable_startWorker } from 'wrangler'
import { openNote, parseCheckpoint, parseVerifierKey, type NoteVerifier } from '../src/verify/index.ts'
import { benchClientIp, benchFetch } from './lib/client-ip.ts'
import { bodies, makeKeys, signPool } from './lib/statements.ts'
import { fmt, table } from './lib/stats.ts'
import { applyMigrations, freshDir, removeDir } from './lib/workers.ts'

const ADMIN = 'bench-admin-token'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

type Worker = Awaited<ReturnType<typeof unstable_startWorker>>
async function start(dir: string, vars: Record<string, string>, entrypoint?: string): Promise<{ worker: Worker; url: string }> {
  await applyMigrations(dir)
  const worker = await unstable_startWorker({
    config: 'wrangler.toml',
    ...(entrypoint && { entrypoint }),
    sendMetrics: false,
    bindings: {
      ADMIN_TOKEN: { type: 'secret_text', value: ADMIN },
      ...Object.fromEntries(Object.entries(vars).map(([k, value]) => [k, { type: k === 'RELAY_KEY' ? ('secret_text' as const) : ('plain_text' as const), value }])),
    },
    dev: { server: { hostname: '127.0.0.1', port: 0 }, inspector: false, persist: dir, watch: false, logLevel: 'error' },
  })
  await worker.ready
  return { worker, url: (await worker.url).href.replace(/\/$/, '') }
}

/** A pass-through to the source that counts bytes both ways; with `noLog`, the source seems to serve no log. */
function proxy(target: string, noLog: boolean): Promise<{ server: Server; url: string; bytes: { in: number; out: number } }> {
  const bytes = { in: 0, out: 0 }
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks)
    bytes.out += body.length
    if (noLog && req.url!.startsWith('/v1/log/')) {
      const nolog = JSON.stringify({ error: { code: 'no_log', message: 'no log' } })
      bytes.in += nolog.length
      res.writeHead(404, { 'content-type': 'application/json' }).end(nolog)
      return
    }
    const headers = new Headers()
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'connection') headers.set(k, v)
    headers.set('cf-connecting-ip', benchClientIp())
    const up = await fetch(`${target}${req.url}`, { method: req.method, headers, ...(body.length && { body }) })
    const out = Buffer.from(await up.arrayBuffer())
    bytes.in += out.length
    res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/octet-stream' }).end(out)
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, bytes })))
}

async function feedIds(url: string): Promise<string[]> {
  const out: string[] = []
  for (let after = '0'; ; ) {
    const page = (await (await benchFetch(`${url}/v1/feed?view=ids&limit=1000&after=${after}`)).json()) as { ids: string[]; cursor: string; more: boolean }
    out.push(...page.ids)
    after = page.cursor
    if (!page.more) return out
  }
}
const d1 = async (url: string) => (await (await benchFetch(`${url}/__bench/d1`)).json()) as { read: number; written: number }

export async function main(args: string[]): Promise<void> {
  const i = args.indexOf('--n')
  const n = i >= 0 ? Number(args[i + 1]) : args.includes('--quick') ? 10_000 : 100_000
  const dirs: string[] = []
  const workers: Worker[] = []
  const servers: Server[] = []
  const dir = () => (dirs.push(freshDir('vouch-bench-catchup-')), dirs[dirs.length - 1]!)
  try {
    const source = await start(dir(), { RELAY_KEY: randomBytes(32).toString('base64url') }, 'bench/catchup-source.ts')
    workers.push(source.worker)
    const keys = await makeKeys(Math.ceil(n / 5000))
    const pool = await signPool(keys, `catchup${Date.now()}`, n, Date.now() - 3_600_000)
    const batches = bodies(pool, 1000)
    for (let b = 0; b < batches.length; b += 4)
      await Promise.all(
        batches.slice(b, b + 4).map(async (body) => {
          // A POST caught by a runtime restart is sent again (ingest is idempotent: duplicates are no-ops).
          for (let attempt = 1; ; attempt++) {
            const res = await benchFetch(`${source.url}/v1/statements`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
            const text = await res.text()
            if (res.status === 200) break
            if (res.status !== 503 || attempt >= 4) throw new Error(`POST: ${res.status} ${text}`)
            await sleep(1000)
          }
        }),
      )
    // Integrate the whole log first, as the source's cron does within a minute of ingest.
    const { log } = (await (await benchFetch(`${source.url}/.well-known/vouch`)).json()) as { log: { verifierKey: string; prefix: string } }
    const verifier = parseVerifierKey(log.verifierKey) as NoteVerifier
    for (;;) {
      const opened = await openNote(await (await benchFetch(`${source.url}${log.prefix}/checkpoint`)).text(), verifier)
      if (parseCheckpoint(opened.text)!.size >= n) break
      await sleep(50)
    }
    await sleep(1500) // let the last waitUntil integration finish
    const sourceIds = await feedIds(source.url)

    const rows = [['from', 'wall s', 'statements/s', 'pull rounds', 'bundles', 'feed pages', 'source D1 rows read', 'rows read / statement', 'bytes in (source → mirror)', 'bytes / statement']]
    for (const mode of ['tiles', 'feed'] as const) {
      const p = await proxy(source.url, mode === 'feed')
      servers.push(p.server)
      const mirror = await start(dir(), { PULL_PEERS: p.url, ALLOW_PRIVATE_PEERS: 'true', PEER_TIMEOUT_MS: '60000' })
      workers.push(mirror.worker)
      const before = await d1(source.url)
      const t0 = performance.now()
      let stored = 0
      let rounds = 0
      let bundles = 0
      let pages = 0
      while (stored < n) {
        if (++rounds > 1000) throw new Error(`${mode}: no progress after 1000 rounds (${stored}/${n})`)
        const res = await benchFetch(`${mirror.url}/v1/admin/pull`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } })
        const { reports } = (await res.json()) as { reports: { stored: number; pages: number; bundles?: number; error?: string }[] }
        const r = reports[0]!
        if (r.error) throw new Error(`${mode}: pull failed: ${r.error}`)
        stored += r.stored
        bundles += r.bundles ?? 0
        pages += r.pages
      }
      const ms = performance.now() - t0
      const after = await d1(source.url)
      const read = after.read - before.read - 0 // the /__bench/d1 reads themselves read no rows
      const ids = await feedIds(mirror.url)
      if (ids.length !== sourceIds.length || ids.some((id, k) => id !== sourceIds[k])) throw new Error(`${mode}: the mirror's feed differs from the source's`)
      rows.push([mode === 'tiles' ? 'log bundles (+ feed tail)' : 'feed pages', fmt(ms / 1000), fmt(n / (ms / 1000)), String(rounds), String(bundles), String(pages), String(read), fmt(read / n), String(p.bytes.in), fmt(p.bytes.in / n)])
      console.error(`${mode}: done`)
    }
    console.log(`catch-up benchmark: a fresh mirror copies ${n} statements from one local relay (log integrated), both ways in one run; feeds checked identical`)
    console.log(table(rows))
  } finally {
    for (const w of workers) await w.dispose().catch(() => {})
    for (const s of servers) s.close()
    for (const d of dirs) removeDir(d)
  }
}
