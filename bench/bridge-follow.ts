/**
 * The following bridge, measured as part of `npm run bench -- bridge`:
 *
 *   follow throughput  `followNpm` (what `vouch bridge npm --follow` and the bridge Worker run)
 *                      draining a local stand-in changes feed of P packages × V versions into the
 *                      local relay: packuments/s and statements/s, against parsing + signing the
 *                      same packuments with no network, in the same run. Then the same feed again
 *                      from no checkpoint (a restart that lost it): every statement a duplicate.
 *   CPU per cron run   the bridge Worker itself (bridge.wrangler.toml under wrangler's dev engine)
 *                      at several MAX_CHANGES: runtime workerd CPU of each `GET /__scheduled`, read
 *                      from /proc (bench/lib/proc.ts), as the ingest benchmark measures the relay.
 *                      Local workerd enforces no limit; this is how to see what a run would use.
 */
import { createServer, type Server } from 'node:http'
import { followNpm, timedClaims, type FollowState } from '../src/bridges/index.ts'
import { createStatement, keySigner, sign } from '../src/client/index.ts'
import { encodeDidKey, keyPairFromSeed, parseJson } from '../src/verify/index.ts'
import { benchFetch } from './lib/client-ip.ts'
import { CpuMeter } from './lib/proc.ts'
import { fmt, median, ratio } from './lib/stats.ts'
import { freshDir, removeDir, RunningWorker } from './lib/workers.ts'

export const FEED_REGISTRY = 'https://registry.example'

/** A stand-in registry: `/_changes?since=&limit=` over one row per package, and each packument at `/<name>`. */
export async function startFeed(docs: Map<string, string>): Promise<{ origin: string; server: Server }> {
  const names = [...docs.keys()]
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname === '/_changes') {
      const since = Number(url.searchParams.get('since') ?? 0)
      const limit = Number(url.searchParams.get('limit') ?? 100)
      const results = names.slice(since, since + limit).map((id, i) => ({ seq: since + i + 1, id, changes: [{ rev: '1-a' }] }))
      const last = since + results.length
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ results, last_seq: last, pending: names.length - last }))
      return
    }
    const doc = docs.get(decodeURIComponent(url.pathname.slice(1)))
    if (doc) res.writeHead(200, { 'content-type': 'application/json' }).end(doc)
    else res.writeHead(404).end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server }
}

const memoryStore = () => {
  let state: FollowState | undefined
  return { load: async () => state, save: async (s: FollowState) => void (state = s) }
}

async function key(n: number) {
  const kp = await keyPairFromSeed(new Uint8Array(32).fill(0xf0).map((b, i) => (i === 0 ? n & 0xff : i === 1 ? n >> 8 : b)))
  return { ...kp, did: encodeDidKey(kp.publicKey) }
}

/** Follow throughput: P packages of V versions, `rounds` rounds, each with a fresh key. */
export async function followThroughput(relays: string[], docs: Map<string, string>, rounds: number, keyBase: number): Promise<string[][]> {
  const { origin, server } = await startFeed(docs)
  const mapped: typeof fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    return benchFetch(url.replace(FEED_REGISTRY, origin), init)
  }
  const P = docs.size
  const r: Record<'base' | 'follow' | 'again', { pkg: number[]; st: number[] }> = { base: { pkg: [], st: [] }, follow: { pkg: [], st: [] }, again: { pkg: [], st: [] } }
  const follow = (signer: ReturnType<typeof keySigner>) =>
    followNpm({ relays, signer, changes: `${FEED_REGISTRY}/_changes`, registry: FEED_REGISTRY, store: memoryStore(), once: true, fetch: mapped })
  try {
    let k = keyBase
    await follow(keySigner(await key(k++))) // warm-up, not counted
    for (let round = 0; round < rounds; round++) {
      // Baseline: what the follower does per packument minus every request.
      const baseKey = keySigner(await key(k++))
      let t0 = performance.now()
      let signed = 0
      for (const [name, text] of docs) {
        const { claims } = timedClaims(parseJson(text, { maxDepth: 64, numbers: 'any' }), name, FEED_REGISTRY)
        for (const c of claims) (await sign(createStatement({ ...c, actor: baseKey.did }), baseKey), signed++)
      }
      let s = (performance.now() - t0) / 1000
      r.base.pkg.push(P / s)
      r.base.st.push(signed / s)

      const signer = keySigner(await key(k++))
      t0 = performance.now()
      const first = await follow(signer)
      s = (performance.now() - t0) / 1000
      if (first.packages !== P || first.accepted !== signed || first.failedCount) throw new Error(`follow: ${first.packages} packages, ${first.accepted} of ${signed} accepted, ${first.failedCount} failed`)
      r.follow.pkg.push(P / s)
      r.follow.st.push(first.statements / s)

      t0 = performance.now()
      const again = await follow(signer)
      s = (performance.now() - t0) / 1000
      if (again.duplicates !== signed || again.accepted !== 0) throw new Error(`follow again: ${again.accepted} accepted, ${again.duplicates} duplicates of ${signed}`)
      r.again.pkg.push(P / s)
      r.again.st.push(again.statements / s)
      console.error(`follow round ${round + 1}/${rounds}: ${fmt(r.follow.pkg.at(-1)!)} packuments/s, ${fmt(r.follow.st.at(-1)!)} statements/s (parse + sign alone ${fmt(r.base.st.at(-1)!)} /s)`)
    }
  } finally {
    server.close()
  }
  const base = median(r.base.st)
  const line = (stage: string, what: string, x: { pkg: number[]; st: number[] }) => [stage, what, fmt(median(x.pkg)), fmt(median(x.st)), `${fmt(Math.min(...x.st))}–${fmt(Math.max(...x.st))}`, ratio(median(x.st) / base)]
  return [
    ['stage', 'what', 'packuments/s', 'statements/s (median)', 'range', 'vs parse + sign'],
    line('parse + sign', 'strict parse, claims, sign; no network', r.base),
    line('follow (new)', 'feed pages, GET packuments, sign, POST, checkpoint', r.follow),
    line('follow (again)', 'the same feed from no checkpoint: all duplicates', r.again),
  ]
}

/**
 * CPU of the bridge Worker's cron runs at each MAX_CHANGES: a fresh Worker (own KV, own key) per
 * value, `runs` runs each, every run taking MAX_CHANGES new packages from the feed.
 */
export async function cronCpu(relays: string[], docs: Map<string, string>, maxChanges: number[], runs: number): Promise<string[][]> {
  const { origin, server } = await startFeed(docs)
  const rows: string[][] = [['MAX_CHANGES', 'statements a run', 'runtime CPU a run (median ms)', 'range', 'CPU per statement', 'wall a run (s)', 'subrequests a run (about)']]
  try {
    for (const [i, max] of maxChanges.entries()) {
      const dir = freshDir('vouch-bench-bridge-')
      const seed = new Uint8Array(32).fill(0x5b + i)
      const w = await RunningWorker.start(
        'bridge.wrangler.toml',
        dir,
        '/',
        {
          CHANGES_URL: { type: 'plain_text', value: `${origin}/_changes` },
          REGISTRY_URL: { type: 'plain_text', value: origin },
          RELAYS: { type: 'plain_text', value: relays.join(' ') },
          MAX_CHANGES: { type: 'plain_text', value: String(max) },
          // No deadline in the way: the run must end at MAX_CHANGES to be measured at it.
          BUDGET_MS: { type: 'plain_text', value: '600000' },
          BRIDGE_KEY: { type: 'secret_text', value: Buffer.from(seed).toString('base64url') },
        },
        { testScheduled: true },
      )
      try {
        const cpu: number[] = []
        const wall: number[] = []
        let statements = 0
        for (let run = 0; run < runs; run++) {
          const meter = new CpuMeter({ runtime: w.pids.runtime }).start()
          const t0 = performance.now()
          const res = await benchFetch(new URL('/__scheduled', w.url))
          await res.arrayBuffer()
          wall.push((performance.now() - t0) / 1000)
          cpu.push(meter.stop().runtime!)
          const status = (await (await benchFetch(w.url)).json()) as { lastRun: { changes: number; statements: number; accepted: number; stopped: string; failedCount: number } | null }
          const last = status.lastRun
          if (res.status !== 200 || !last || last.changes !== max || last.failedCount || last.accepted !== last.statements) {
            throw new Error(`cron run at MAX_CHANGES=${max}: HTTP ${res.status}, last run ${JSON.stringify(last)}`)
          }
          statements = last.statements
          console.error(`MAX_CHANGES ${max}, run ${run + 1}/${runs}: ${fmt(cpu.at(-1)!)} ms CPU, ${last.statements} statements, ${fmt(wall.at(-1)!)} s`)
        }
        // Feed pages of 100, one GET per package, one POST per 1,000 statements per relay, KV reads and writes.
        const subrequests = Math.ceil(max / 100) + max + Math.ceil(statements / 1000) * relays.length * 2 + 2
        rows.push([String(max), String(statements), fmt(median(cpu)), `${fmt(Math.min(...cpu))}–${fmt(Math.max(...cpu))}`, `${fmt((median(cpu) / statements) * 1000)} µs`, fmt(median(wall)), String(subrequests)])
      } finally {
        await w.dispose()
        removeDir(dir)
      }
    }
  } finally {
    server.close()
  }
  return rows
}
