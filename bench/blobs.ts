/**
 * Blobs benchmark: upload and download throughput of PUT/GET /v1/blobs/:hash on a local relay
 * (wrangler dev's engine, workerd, local R2) for 1 KiB, 1 MiB and 64 MiB blobs, plus a 1 MiB
 * Range GET out of a 64 MiB blob, each as a ratio to raw local R2 measured in the same run: a
 * Worker doing nothing but `env.BUCKET.put(key, request.body)` / `get` (bench/r2-worker.ts),
 * started the same way, persisting on the same disk and called over HTTP the same way, request
 * for request interleaved with the relay's. The ratio is then the relay's own cost: the hash
 * check R2 does on put, the operator check, the head before put and before get, the Workers
 * cache and the response headers. Also the runtime workerd's CPU per MiB for both.
 *
 * Where the time goes: a second instance of the raw worker adds the relay's steps one at a time
 * (`?with=head,checksum,cache,headers`), each measured against plain raw R2 the same way.
 *
 * Directory hashing (NAR vs node:crypto and sha256sum) is bench/nar.ts, not repeated here.
 *
 * `npm run bench -- blobs [--quick] [--markdown]`; docs/PERFORMANCE.md records results.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { cpus } from 'node:os'
import { clientIpHeader } from './lib/client-ip.ts'
import { HttpError } from './lib/load.ts'
import { CpuMeter, loadAverage, selfCpuMs } from './lib/proc.ts'
import { fmt, markdownTable, median, percentile, ratio, table } from './lib/stats.ts'
import { freshDir, measured, reloadCount, removeDir, RunningWorker, startRelay } from './lib/workers.ts'

const KiB = 1024
const MiB = 1024 * KiB
/** The goal: through the relay at least this fraction of raw local R2's throughput. */
const TARGET_RATIO = 0.9
/** Blobs up to this size are put in the Workers cache on GET (src/routes/blobs.ts). */
const CACHED_MAX = 8 * MiB
const RANGE_BYTES = 1 * MiB
const ADMIN_TOKEN = 'vouch-bench-blobs-admin-token'

interface SizePlan {
  bytes: number
  /** Measured requests per target for each operation. */
  reps: number
  /** Untimed requests per target before each operation. */
  warmup: number
}
interface Plan {
  sizes: SizePlan[]
  /** 1 MiB Range GETs from the 64 MiB blobs, per target. */
  rangeReps: number
  /** Requests per target in each where-the-time-goes row. */
  explainReps: number
}
const FULL: Plan = {
  sizes: [
    { bytes: 1 * KiB, reps: 300, warmup: 30 },
    { bytes: 1 * MiB, reps: 60, warmup: 6 },
    { bytes: 64 * MiB, reps: 8, warmup: 1 },
  ],
  rangeReps: 60,
  explainReps: 200,
}
const QUICK: Plan = {
  sizes: [
    { bytes: 1 * KiB, reps: 60, warmup: 10 },
    { bytes: 1 * MiB, reps: 12, warmup: 2 },
    { bytes: 64 * MiB, reps: 2, warmup: 1 },
  ],
  rangeReps: 12,
  explainReps: 40,
}

interface Workers {
  relay: RunningWorker
  raw: RunningWorker
  /** The same raw worker again, asked to add the relay's steps (where the time goes). */
  variant: RunningWorker
}

/** Who answers a request: which worker, and the path it gives a blob. */
interface Target {
  name: string
  worker: keyof Workers
  path: (hex: string) => string
}
const RELAY: Target = { name: 'relay', worker: 'relay', path: (hex) => `/v1/blobs/sha256:${hex}` }
const RAW: Target = { name: 'raw R2', worker: 'raw', path: (hex) => `/bench/${hex}` }
const rawWith = (steps: string): Target => ({ name: `raw R2 + ${steps}`, worker: 'variant', path: (hex) => `/bench/${hex}?with=${steps}` })

interface Side {
  target: string
  /** Wall ms of each request, from sending it to the last byte of the answer. */
  ms: number[]
  /** Body bytes moved per request (uploaded or downloaded). */
  bytes: number
  /** CPU ms of the target's two workerd processes over the whole operation. */
  cpu: { runtime: number; proxy: number }
}

export interface Row {
  label: string
  size: number
  requests: number
  /** The relay (or a raw variant) ... */
  a: Side
  /** ... and plain raw R2, interleaved with it. */
  b: Side
  /** CPU ms of this Node process (the client) over the operation, both targets. */
  nodeCpuMs: number
}

const log = (...a: unknown[]) => console.error(...a)
const sizeName = (n: number) => (n >= MiB ? `${n / MiB} MiB` : `${n / KiB} KiB`)

/**
 * Blobs of one size: a random buffer whose first 8 bytes are stamped with the blob's number, so
 * every blob is new (a PUT of bytes the relay has is answered `exists` without storing).
 */
class Blobs {
  private readonly buf: Buffer
  private readonly hashes = new Map<number, string>()
  private next = 0
  constructor(readonly size: number) {
    this.buf = randomBytes(size)
  }
  /** Numbers of `count` new blobs, hashed now, before any clock starts. */
  fresh(count: number): number[] {
    return Array.from({ length: count }, () => {
      const n = this.next++
      this.hashes.set(n, createHash('sha256').update(this.bytes(n)).digest('hex'))
      return n
    })
  }
  /** Blob n's bytes (the one buffer, restamped: valid until the next call). */
  bytes(n: number): Buffer {
    this.buf.writeUInt32BE(n, 0)
    this.buf.writeUInt32BE(this.size, 4)
    return this.buf
  }
  hex(n: number): string {
    return this.hashes.get(n)!
  }
}

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  bytes: number
  /** The first 4 KiB of the body as text (JSON answers, error messages). */
  text: string
  /** sha256 of the body, when asked for. */
  sha256?: string
  ms: number
}

/**
 * node:http with one keep-alive connection; bodies are counted (and hashed if asked), not kept.
 * No Accept-Encoding: wrangler dev would gzip the raw worker's untyped answers for a client that
 * accepts it.
 */
function makeClient(base: URL) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const send = (method: 'PUT' | 'GET', path: string, headers: Record<string, string | number>, body?: Buffer, hash = false): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const t0 = performance.now()
      const req = request(new URL(path, base), { method, agent, headers: { ...clientIpHeader(), ...headers } }, (res) => {
        let bytes = 0
        const head: Buffer[] = []
        const h = hash ? createHash('sha256') : undefined
        res.on('data', (c: Buffer) => {
          if (bytes < 4 * KiB) head.push(c.subarray(0, 4 * KiB - bytes))
          bytes += c.length
          h?.update(c)
        })
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            bytes,
            text: Buffer.concat(head).toString('utf8'),
            sha256: h?.digest('hex'),
            ms: performance.now() - t0,
          }),
        )
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end(body)
    })
  return { send, close: () => agent.destroy() }
}
type Client = ReturnType<typeof makeClient>

async function put(c: Client, t: Target, blobs: Blobs, n: number): Promise<Answer> {
  const body = blobs.bytes(n)
  const a = await c.send(
    'PUT',
    t.path(blobs.hex(n)),
    // The operator token goes to both, so the two requests are the same size; the raw worker ignores it.
    { 'content-type': 'application/octet-stream', 'content-length': body.length, authorization: `Bearer ${ADMIN_TOKEN}` },
    body,
  )
  if (a.status !== 201) throw new HttpError(a.status, a.text)
  const b = JSON.parse(a.text) as { size?: number; status?: string }
  if (b.size !== blobs.size || (t === RELAY && b.status !== 'stored')) throw new Error(`${t.name} PUT of ${blobs.size} bytes answered ${a.text}`)
  return a
}

async function get(c: Client, t: Target, blobs: Blobs, n: number, range?: { offset: number; length: number }): Promise<Answer> {
  const headers: Record<string, string> = range ? { range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {}
  const a = await c.send('GET', t.path(blobs.hex(n)), headers)
  if (a.status !== (range ? 206 : 200)) throw new HttpError(a.status, a.text)
  const want = range ? range.length : blobs.size
  if (a.bytes !== want) throw new Error(`${t.name} GET sent ${a.bytes} bytes, expected ${want}`)
  return a
}

/** Uploads new blobs to each target, untimed (the blobs a GET row reads). */
async function upload(w: Workers, targets: Target[], blobs: Blobs, count: number): Promise<number[]> {
  const ns = blobs.fresh(count)
  for (const t of targets) {
    const c = makeClient(w[t.worker].url)
    try {
      for (const n of ns) await put(c, t, blobs, n)
    } finally {
      c.close()
    }
  }
  return ns
}

type Step = (c: Client, target: Target, i: number, warm: boolean) => Promise<Answer>

/**
 * One operation on two targets, request for request interleaved (the order alternating), so
 * that both see the same machine. `setup(attempt)` runs at the start of every attempt (a worker
 * reload repeats the operation) and returns `step(target, i)`, which sends request i to one
 * target and checks the answer. Fresh connections each time; warm-up requests first.
 */
async function operation(
  w: Workers,
  label: string,
  size: number,
  requests: number,
  warmup: number,
  pair: [Target, Target],
  setup: (attempt: number) => Promise<Step>,
): Promise<Row> {
  const workers = [...new Set(pair.map((t) => w[t.worker]))]
  return measured(workers, label, async (attempt) => {
    const step = await setup(attempt)
    const clients = pair.map((t) => makeClient(w[t.worker].url))
    try {
      for (let i = 0; i < warmup; i++) for (const [k, t] of pair.entries()) await step(clients[k]!, t, i, true)
      const meters = pair.map((t) => new CpuMeter(w[t.worker].pids).start())
      const node0 = selfCpuMs()
      const ms: number[][] = [[], []]
      for (let i = 0; i < requests; i++) {
        for (const k of i % 2 ? [1, 0] : [0, 1]) ms[k]!.push((await step(clients[k]!, pair[k]!, i, false)).ms)
      }
      const nodeCpuMs = selfCpuMs() - node0
      // The relay's waitUntil (Workers cache fill) may still be running: let it finish inside the meter.
      await new Promise((r) => setTimeout(r, 200))
      const side = (k: number): Side => ({ target: pair[k]!.name, ms: ms[k]!, bytes: size, cpu: meters[k]!.stop() as Side['cpu'] })
      return { label, size, requests, a: side(0), b: side(1), nodeCpuMs }
    } finally {
      for (const c of clients) c.close()
    }
  })
}

/** Untimed: each target hands back exactly the bytes it was given, whole and as a range. */
async function sanity(w: Workers, blobs: Blobs, n: number): Promise<void> {
  const want = createHash('sha256').update(blobs.bytes(n)).digest('hex')
  const offset = Math.min(12_345, blobs.size - 1)
  const length = Math.min(RANGE_BYTES, blobs.size - offset)
  const wantRange = createHash('sha256').update(blobs.bytes(n).subarray(offset, offset + length)).digest('hex')
  for (const t of [RELAY, RAW]) {
    const c = makeClient(w[t.worker].url)
    try {
      const whole = await c.send('GET', t.path(blobs.hex(n)), {}, undefined, true)
      if (whole.status !== 200 || whole.sha256 !== want) throw new Error(`${t.name} GET of a ${sizeName(blobs.size)} blob: ${whole.status}, other bytes`)
      const part = await c.send('GET', t.path(blobs.hex(n)), { range: `bytes=${offset}-${offset + length - 1}` }, undefined, true)
      if (part.status !== 206 || part.sha256 !== wantRange) throw new Error(`${t.name} Range GET: ${part.status}, other bytes`)
      if (t === RELAY && part.headers['content-range'] !== `bytes ${offset}-${offset + length - 1}/${blobs.size}`) {
        throw new Error(`relay Range GET: content-range ${String(part.headers['content-range'])}`)
      }
    } finally {
      c.close()
    }
  }
}

/** 1 MiB ranges at unaligned offsets spread over the blob, from each blob in turn. */
const rangeOf = (i: number, size: number) => ({ offset: Math.floor(((i * 0.618034) % 1) * (size - RANGE_BYTES)), length: RANGE_BYTES })

function report(rows: Row[]) {
  return (row: Row) => {
    rows.push(row)
    log(`${row.label}: ${row.a.target} ${fmt(mibps(row.a))} MiB/s, ${row.b.target} ${fmt(mibps(row.b))} MiB/s (${ratio(mibps(row.a) / mibps(row.b))})`)
  }
}

async function benchmark(w: Workers, plan: Plan): Promise<{ rows: Row[]; explain: Row[] }> {
  const rows: Row[] = []
  const done = report(rows)
  const pair: [Target, Target] = [RELAY, RAW]
  const big: { blobs?: Blobs; stored: number[] } = { stored: [] }
  for (const s of plan.sizes) {
    const blobs = new Blobs(s.bytes)
    const name = sizeName(s.bytes)

    // PUT: new blobs, hashed before the clock starts (a repeated attempt gets new ones too).
    let stored: number[] = []
    let warmStored: number[] = []
    done(
      await operation(w, `PUT ${name}`, s.bytes, s.reps, s.warmup, pair, async () => {
        warmStored = blobs.fresh(s.warmup)
        stored = blobs.fresh(s.reps)
        return (c, t, i, warm) => put(c, t, blobs, (warm ? warmStored : stored)[i]!)
      }),
    )
    await sanity(w, blobs, warmStored[0]!)

    // GET: every blob once (for the relay, from R2; blobs up to 8 MiB also fill the Workers cache).
    // A repeated attempt reads blobs uploaded for it, so that its reads are first reads too.
    const cached = s.bytes <= CACHED_MAX
    done(
      await operation(w, cached ? `GET ${name}, first read` : `GET ${name}`, s.bytes, s.reps, 0, pair, async (attempt) => {
        if (attempt > 1 && cached) stored = await upload(w, pair, blobs, s.reps)
        return (c, t, i) => get(c, t, blobs, stored[i % stored.length]!)
      }),
    )
    // Again: for the relay these now come from the Workers cache.
    if (cached) {
      done(
        await operation(w, `GET ${name}, again (cached)`, s.bytes, s.reps, s.warmup, pair, async () => (c, t, i, warm) =>
          get(c, t, blobs, (warm ? warmStored : stored)[i % (warm ? warmStored : stored).length]!),
        ),
      )
    } else {
      big.blobs = blobs
      big.stored = stored
    }
  }
  if (big.blobs) {
    const blobs = big.blobs
    done(
      await operation(w, `Range GET 1 MiB of ${sizeName(blobs.size)}`, RANGE_BYTES, plan.rangeReps, 2, pair, async () => (c, t, i) =>
        get(c, t, blobs, big.stored[i % big.stored.length]!, rangeOf(i, blobs.size)),
      ),
    )
  }

  // Where the time goes: the relay's steps added to raw R2 one at a time, on the operations that
  // miss the target, each against plain raw R2 on its own instance.
  const explain: Row[] = []
  const more = report(explain)
  for (const size of [1 * KiB, 1 * MiB]) {
    const blobs = new Blobs(size)
    const name = sizeName(size)
    const n = size < MiB ? plan.explainReps : Math.ceil(plan.explainReps / 5)
    const warm = Math.ceil(n / 10)
    for (const steps of ['head', 'head,checksum']) {
      const vs: [Target, Target] = [rawWith(steps), RAW]
      more(
        await operation(w, `PUT ${name}`, size, n, warm, vs, async () => {
          const ns = blobs.fresh(n + warm)
          return (c, t, i, isWarm) => put(c, t, blobs, ns[isWarm ? n + i : i]!)
        }),
      )
    }
    for (const steps of ['head', 'head,cache', 'head,cache,headers']) {
      const vs: [Target, Target] = [rawWith(steps), RAW]
      more(
        await operation(w, `GET ${name}, first read`, size, n, 0, vs, async () => {
          const ns = await upload(w, vs, blobs, n)
          return (c, t, i) => get(c, t, blobs, ns[i]!)
        }),
      )
    }
  }
  if (big.blobs) {
    const blobs = big.blobs
    const vs: [Target, Target] = [rawWith('head'), RAW]
    const ns = await upload(w, [vs[0]], blobs, 1) // RAW has the stored ones already
    more(
      await operation(w, `Range GET 1 MiB of ${sizeName(blobs.size)}`, RANGE_BYTES, plan.rangeReps, 2, vs, async () => (c, t, i) =>
        get(c, t, blobs, t === RAW ? big.stored[i % big.stored.length]! : ns[0]!, rangeOf(i, blobs.size)),
      ),
    )
  }
  return { rows, explain }
}

/** Throughput of the median request, MiB/s (bytes over its wall time). */
export const mibps = (s: Side) => s.bytes / MiB / (median(s.ms) / 1000)
const cpuPerMiB = (s: Side) => s.cpu.runtime / ((s.bytes * s.ms.length) / MiB)
const cpuPerReq = (s: Side) => s.cpu.runtime / s.ms.length
const p50 = (s: Side) => percentile(s.ms, 50)

export async function main(args: string[]): Promise<void> {
  const unknown = args.filter((a) => a !== '--quick' && a !== '--markdown')
  if (unknown.length) throw new Error(`unknown option ${unknown.join(' ')}; options: --quick, --markdown`)
  const quick = args.includes('--quick')
  const plan = quick ? QUICK : FULL
  const started = Date.now()

  const relay = await startRelay({ ADMIN_TOKEN: { type: 'secret_text', value: ADMIN_TOKEN } })
  const dirs = [freshDir('vouch-bench-r2-'), freshDir('vouch-bench-r2-')]
  const others: RunningWorker[] = []
  let result: Awaited<ReturnType<typeof benchmark>>
  try {
    log(`relay ${relay.url.href}: runtime workerd ${relay.pids.runtime}, proxy workerd ${relay.pids.proxy}, data under ${relay.dir}`)
    for (const dir of dirs) others.push(await RunningWorker.start('bench/r2-worker.toml', dir))
    const [raw, variant] = others as [RunningWorker, RunningWorker]
    log(`raw R2 ${raw.url.href}: runtime workerd ${raw.pids.runtime}, proxy workerd ${raw.pids.proxy}, data under ${raw.dir}`)
    log(`raw R2 with the relay's steps ${variant.url.href}: runtime workerd ${variant.pids.runtime}, data under ${variant.dir}`)
    result = await benchmark({ relay, raw, variant }, plan)
  } finally {
    for (const o of others) await o.dispose()
    await relay.dispose()
    for (const dir of [...dirs, relay.dir]) removeDir(dir)
  }

  const out = render(result.rows, result.explain, quick, (Date.now() - started) / 1000)
  console.log(args.includes('--markdown') ? out.markdown : out.text)
  mkdirSync('bench/.state', { recursive: true })
  writeFileSync('bench/.state/blobs-last.json', JSON.stringify({ quick, date: new Date().toISOString(), ...result }, null, 2))
}

function render(rows: Row[], explain: Row[], quick: boolean, elapsedS: number): { text: string; markdown: string } {
  const main = [
    [
      'operation',
      'requests',
      'relay MiB/s',
      'raw R2 MiB/s',
      'relay / raw',
      'relay p50 ms',
      'raw p50 ms',
      'relay CPU ms/req',
      'raw CPU ms/req',
      'relay CPU ms/MiB',
      'raw CPU ms/MiB',
      'dev proxy CPU ms/MiB',
    ],
    ...rows.map((r) => [
      r.label,
      String(r.requests),
      fmt(mibps(r.a)),
      fmt(mibps(r.b)),
      ratio(mibps(r.a) / mibps(r.b)),
      fmt(p50(r.a)),
      fmt(p50(r.b)),
      fmt(cpuPerReq(r.a)),
      fmt(cpuPerReq(r.b)),
      fmt(cpuPerMiB(r.a)),
      fmt(cpuPerMiB(r.b)),
      fmt(r.a.cpu.proxy / ((r.a.bytes * r.requests) / MiB)),
    ]),
  ]
  // Each explain row next to the relay's own row for the same operation, all as added cost over raw R2.
  const relayRow = (label: string) => rows.find((r) => r.label === label)
  const added = (r: Row) => [fmt(p50(r.a) - p50(r.b)), ratio(mibps(r.a) / mibps(r.b)), fmt(cpuPerReq(r.a) - cpuPerReq(r.b))]
  const labels = [...new Set(explain.map((r) => r.label))]
  const why = [
    ['operation', 'what answers (vs plain raw R2, interleaved)', 'requests', 'p50 ms', 'raw p50 ms', 'added p50 ms', 'vs raw', 'added CPU ms/req'],
    ...labels.flatMap((label) => {
      const own = relayRow(label)
      return [
        ...explain.filter((r) => r.label === label).map((r) => [label, r.a.target, String(r.requests), fmt(p50(r.a)), fmt(p50(r.b)), ...added(r)]),
        ...(own ? [[label, 'relay (the row above)', String(own.requests), fmt(p50(own.a)), fmt(p50(own.b)), ...added(own)]] : []),
      ]
    }),
  ]
  const met = rows.filter((r) => mibps(r.a) / mibps(r.b) >= TARGET_RATIO)
  const facts = [
    `machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}, load average ${loadAverage()} at the end; ` +
      `${quick ? 'QUICK run' : 'full run'}, ${fmt(elapsedS)} s`,
    'MiB/s is bytes / wall time of the median request (1 in flight, keep-alive, the two targets interleaved); ' +
      'CPU is the runtime workerd\u2019s (Worker + local R2 simulator), over all requests of the row',
    `target relay >= ${TARGET_RATIO}x raw local R2: met by ${met.length} of ${rows.length} rows` +
      (met.length < rows.length ? ` (missed: ${rows.filter((r) => !met.includes(r)).map((r) => r.label).join('; ')})` : ''),
    `relay GETs of blobs up to ${sizeName(CACHED_MAX)} after the first come from the Workers cache (the raw worker has none); ` +
      'a first read also fills the cache in waitUntil',
    'raw R2 + steps: bench/r2-worker.ts with ?with=…: head = BUCKET.head first; checksum = put with sha256 + metadata; ' +
      'cache = cache.match (a miss) first, cache-control, cache.put of a clone in waitUntil; headers = the relay\u2019s other response headers',
    'directory hashing (NAR) against node:crypto and sha256sum: bench/nar.ts, not repeated here',
    reloadCount() ? `${reloadCount()} operation(s) were repeated because a worker reloaded (its sources changed during the benchmark)` : '',
  ].filter(Boolean)
  const md = (rs: string[][]) => markdownTable(rs.map((r) => r.map((c) => c.replaceAll('|', '\\|'))))
  return {
    text: ['== blobs: relay vs raw local R2 ==', '', table(main), '', '== where the time goes ==', '', table(why, 2), '', ...facts.map((f) => `- ${f}`)].join('\n'),
    markdown: ['**blobs: relay vs raw local R2**', '', md(main), '', '**where the time goes**', '', markdownTable(why, 2), '', ...facts.map((f) => `- ${f}`)].join('\n'),
  }
}
