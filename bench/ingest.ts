/**
 * Ingest benchmark: POST /v1/statements on a local relay (wrangler dev's engine, workerd, local
 * D1) at batch sizes 1, 10, 100 and 1000. Reports accepted statements/s and request latency,
 * workerd CPU per statement against a bare-WebCrypto verify baseline, where that CPU goes, and
 * the operator's cost per statement. `npm run bench -- ingest [--quick] [--markdown]`; with
 * `--cpu-budget MS`, CPU per request at the caps a relay with that budget advertises instead;
 * docs/PERFORMANCE.md explains the method and the numbers.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { verifyStatement, type Statement, type VerifiedStatement } from '../src/verify/index.ts'
import { measureStore, type GatedPool, type StoreReport } from './lib/d1.ts'
import { HttpError, makeClient, type Req } from './lib/load.ts'
import { CpuMeter, loadAverage, selfCpuMs } from './lib/proc.ts'
import { prepareStages, profileInNode } from './lib/stages.ts'
import { bodies, makeKeys, signPool, verifyLoad, type BenchKey } from './lib/statements.ts'
import { fmt, markdownTable, money, percentile, ratio, table } from './lib/stats.ts'
import { freshDir, measured, reloadCount, removeDir, RunningWorker, startMigratedWorker, startRelay } from './lib/workers.ts'

/** The goal: accepted statements per second on one relay. */
const TARGET_PER_S = 5000
/** The goal: relay CPU per statement at most this multiple of one bare verify. */
const TARGET_CPU_RATIO = 2
/** USD, Workers Paid, beyond the included amounts. */
const PRICE = { d1RowWritten: 1.0 / 1e6, kvWrite: 5.0 / 1e6, workerRequest: 0.3 / 1e6, workerCpuMs: 0.02 / 1e6 }
const KEYS = 32

interface Plan {
  /** [batch size, measured requests, warm-up requests, requests in flight] */
  runs: [batch: number, requests: number, warmup: number, concurrency: number][]
  roundTrips: number
  /** Verifies per baseline trial; there are 3 + one per run + 1 trials. */
  verifiesPerTrial: number
  duplicateBatches: number
  d1Batches: number
  /** CPU ms to spend on each stage in the workerd stage profile. */
  stageCpuMs: number
}

const FULL: Plan = {
  runs: [
    [1, 1000, 200, 8],
    [10, 400, 30, 8],
    [100, 100, 5, 4],
    [1000, 16, 2, 4],
    [1000, 6, 0, 1],
  ],
  roundTrips: 2000,
  verifiesPerTrial: 5000,
  duplicateBatches: 8,
  d1Batches: 3,
  stageCpuMs: 400,
}

const QUICK: Plan = {
  runs: [
    [1, 300, 100, 8],
    [10, 100, 20, 8],
    [100, 20, 3, 4],
    [1000, 4, 1, 4],
    [1000, 2, 0, 1],
  ],
  roundTrips: 600,
  verifiesPerTrial: 3000,
  duplicateBatches: 3,
  d1Batches: 2,
  stageCpuMs: 200,
}

export interface Run {
  label: string
  batch: number
  concurrency: number
  requests: number
  statements: number
  accepted: number
  duplicate: number
  wallMs: number
  p50: number
  p99: number
  /** CPU ms of the relay's workerd processes during the run. */
  cpu: { runtime: number; proxy: number }
  /** CPU ms of this Node process (the load generator) during the run. */
  nodeCpuMs: number
}

interface StageRow {
  name: string
  depth: number
  workerdUs: number
  nodeUs: number
}

const log = (...a: unknown[]) => console.error(...a)
const post = (body: Buffer): Req => ({ method: 'POST', path: '/v1/statements', body })

export async function main(args: string[]): Promise<void> {
  const b = args.indexOf('--cpu-budget')
  const budget = b < 0 ? undefined : args[b + 1]
  const unknown = args.filter((a, i) => a !== '--quick' && a !== '--markdown' && !(b >= 0 && (i === b || i === b + 1)))
  if (unknown.length) throw new Error(`unknown option ${unknown.join(' ')}; options: --quick, --markdown, --cpu-budget MS`)
  const quick = args.includes('--quick')
  if (b >= 0) {
    if (!budget || !/^[0-9]+$/.test(budget)) throw new Error('--cpu-budget takes the CPU ms per request, e.g. --cpu-budget 10 (Workers Free)')
    const { runBudget } = await import('./ingest-budget.ts')
    return runBudget(Number(budget), { quick, markdown: args.includes('--markdown') })
  }
  const plan = quick ? QUICK : FULL
  const started = Date.now()
  const time = Date.now() - 86_400_000

  // Keys and the statements used outside the timed runs. Each run signs its own just before
  // its clock starts (and again if it has to be repeated).
  const keys = await makeKeys(KEYS)
  const sanity = (await signPool(keys, 'sanity', 1, time))[0]!
  const stageText = JSON.stringify(await signPool(keys, 'stages', 1000, time))
  const d1Fresh: VerifiedStatement[][] = []
  for (let b = 0; b < plan.d1Batches; b++) {
    const pool = await signPool(keys, `d1-${b}`, 1000, time)
    d1Fresh.push(await Promise.all(pool.map((s) => verifyStatement(s, { now: Date.now() }))))
  }
  const noObject = await Promise.all(
    (await signPool(keys, 'd1-no-object', 1000, time, false)).map((s) => verifyStatement(s, { now: Date.now() })),
  )
  // For the rows an operator pays for at each batch size: the whole ingest path, usage ledger included.
  const gatedPools: GatedPool[] = []
  for (const batch of [...new Set(plan.runs.map(([b]) => b))]) {
    gatedPools.push({ batch, statements: await signPool(keys, `d1-gated-${batch}`, Math.max(2 * batch, 200), time) })
  }
  const signing = await timeSigning(keys, time)
  log(`signing in Node: ${fmt(signing)} statements/s`)

  // Where the time goes, stage by stage: Node first, then workerd, before the relay starts.
  const nodeUs = await profileInNode(stageText, 1000)
  const stages = await profileInWorkerd(stageText, plan.stageCpuMs, nodeUs)
  log('stage profiles done')

  const relay = await startRelay()
  try {
    return await benchmarkRelay(relay, { quick, markdown: args.includes('--markdown'), plan, keys, time, sanity, d1Fresh, noObject, gatedPools, stages, signing, started })
  } finally {
    removeDir(relay.dir)
  }
}

interface Prepared {
  quick: boolean
  markdown: boolean
  plan: Plan
  keys: BenchKey[]
  time: number
  sanity: Statement
  d1Fresh: VerifiedStatement[][]
  noObject: VerifiedStatement[]
  gatedPools: GatedPool[]
  stages: StageRow[]
  signing: number
  started: number
}

async function benchmarkRelay(relay: RunningWorker, p: Prepared): Promise<void> {
  const { quick, plan, keys, time, sanity, d1Fresh, noObject, gatedPools, stages, signing, started } = p
  const verifyDir = freshDir('vouch-bench-verify-')
  let verifier: RunningWorker | undefined
  const runs: Run[] = []
  let baseline: ReturnType<typeof verifyBaseline> | undefined
  let roundTrip: Run
  let posted = 1
  try {
    log(`relay ${relay.url.href}: runtime workerd ${relay.pids.runtime}, proxy workerd ${relay.pids.proxy}, D1 under ${relay.dir}`)
    verifier = await RunningWorker.start('bench/verify-worker.toml', verifyDir)
    log(`verify baseline ${verifier.url.href}: runtime workerd ${verifier.pids.runtime}, proxy workerd ${verifier.pids.proxy}`)

    // The local D1 must have the table: this POST has to be accepted.
    const client = makeClient(relay.url, 1)
    const first = await client.send(post(Buffer.from(JSON.stringify(sanity)))).finally(() => client.close())
    if (first.status !== 200 || (JSON.parse(first.body) as { accepted?: number }).accepted !== 1) {
      throw new Error(`sanity POST not accepted (is the D1 under ${relay.dir} migrated?): ${first.status} ${first.body}`)
    }

    baseline = verifyBaseline(verifier, keys, time, plan.verifiesPerTrial)
    for (let t = 0; t < 3; t++) await baseline.trial()
    roundTrip = await measured([relay], 'GET round trips', async () => {
      const c = makeClient(relay.url, 8)
      try {
        return await measureRoundTrips(c, relay, plan.roundTrips)
      } finally {
        c.close()
      }
    })
    log(`bare verify ${fmt(baseline.median() * 1000)} µs CPU; GET /.well-known/vouch ${fmt(reqRate(roundTrip))}/s`)

    let last: Statement[] = []
    for (const [i, [batch, requests, warmup, concurrency]] of plan.runs.entries()) {
      await baseline.trial()
      const label = plan.runs.some(([b, , , c]) => b === batch && c !== concurrency) ? `batch ${batch}, ${concurrency} in flight` : `batch ${batch}`
      const run = await measured([relay], label, async (attempt) => {
        const warm = await signPool(keys, `warm-${i}-${attempt}`, warmup * batch, time)
        const pool = await signPool(keys, `run-${i}-${attempt}`, requests * batch, time)
        const reqs = bodies(pool, batch).map(post)
        posted += warm.length + pool.length
        // Fresh connections for every run: a keep-alive socket left idle while the next pool
        // was signed may be closed by the server just as it is reused (ECONNRESET).
        const c = makeClient(relay.url, concurrency)
        try {
          await c.load(bodies(warm, batch).map(post), concurrency, false)
          const r = await measurePosts(c, relay, label, batch, reqs, concurrency)
          if (batch === 1000 && last.length < pool.length) last = pool
          return r
        } finally {
          c.close()
        }
      })
      if (run.accepted !== run.statements) throw new Error(`${run.label}: accepted ${run.accepted} of ${run.statements}`)
      runs.push(run)
      log(`${run.label}: ${fmt(rate(run))} accepted/s, ${fmt(cpuPerStatement(run) * 1000)} µs CPU/statement`)
    }

    // Batch-1000 statements again: all the work except the D1 writes.
    const again = bodies(last.slice(0, plan.duplicateBatches * 1000), 1000).map(post)
    const dup = await measured([relay], 'duplicates', async () => {
      const c = makeClient(relay.url, 4)
      try {
        return await measurePosts(c, relay, 'batch 1000, all duplicates', 1000, again, 4)
      } finally {
        c.close()
      }
    })
    if (dup.duplicate !== dup.statements) throw new Error(`duplicates: ${dup.duplicate} of ${dup.statements}`)
    runs.push(dup)
    await baseline.trial()
  } finally {
    await verifier?.dispose()
    await relay.dispose()
    removeDir(verifyDir)
  }

  const store: StoreReport = await measureStore(relay.dir, d1Fresh, noObject, gatedPools)
  const accepted = 1 + runs.reduce((n, r) => n + r.accepted, 0)
  if (store.storedRows < accepted || store.storedRows > posted) {
    throw new Error(`D1 holds ${store.storedRows} statements; expected between ${accepted} and ${posted}`)
  }

  const verifyCpuMs = baseline!.median()
  const verifySamples = baseline!.samples
  const report = render({ quick, runs, verifyCpuMs, verifySamples, roundTrip, store, stages, signing, elapsedS: (Date.now() - started) / 1000 })
  console.log(p.markdown ? report.markdown : report.text)
  mkdirSync('bench/.state', { recursive: true })
  writeFileSync(
    'bench/.state/ingest-last.json',
    JSON.stringify({ quick, date: new Date().toISOString(), runs, verifyCpuMs, verifySamples, roundTrip, store, stages, signing }, null, 2),
  )
}

export const rate = (r: Run) => (r.statements * 1000) / r.wallMs
export const reqRate = (r: Run) => (r.requests * 1000) / r.wallMs
export const cpuPerStatement = (r: Run) => r.cpu.runtime / r.statements

async function timeSigning(keys: BenchKey[], time: number): Promise<number> {
  const t = performance.now()
  await signPool(keys, 'signing-rate', 2000, time)
  return 2000_000 / (performance.now() - t)
}

async function measurePosts(
  client: ReturnType<typeof makeClient>,
  relay: RunningWorker,
  label: string,
  batch: number,
  reqs: Req[],
  concurrency: number,
): Promise<Run> {
  const meter = new CpuMeter(relay.pids).start()
  const node0 = selfCpuMs()
  const res = await client.load(reqs, concurrency)
  const nodeCpuMs = selfCpuMs() - node0
  const cpu = meter.stop() as Run['cpu']
  let accepted = 0
  let duplicate = 0
  let statements = 0
  for (const r of res.responses) {
    if (r.status !== 200) throw new HttpError(r.status, r.body)
    const b = JSON.parse(r.body) as { accepted: number; duplicate: number; rejected: number }
    accepted += b.accepted
    duplicate += b.duplicate
    statements += b.accepted + b.duplicate + b.rejected
  }
  return {
    label,
    batch,
    concurrency,
    requests: reqs.length,
    statements,
    accepted,
    duplicate,
    wallMs: res.wallMs,
    p50: percentile(res.latencies, 50),
    p99: percentile(res.latencies, 99),
    cpu,
    nodeCpuMs,
  }
}

/** Plain wrangler dev round trips: GET /.well-known/vouch, a small JSON answer, no storage. */
async function measureRoundTrips(client: ReturnType<typeof makeClient>, relay: RunningWorker, n: number): Promise<Run> {
  const req: Req = { method: 'GET', path: '/.well-known/vouch' }
  await client.load(Array(Math.ceil(n / 10)).fill(req), 8, false)
  const meter = new CpuMeter(relay.pids).start()
  const node0 = selfCpuMs()
  const res = await client.load(Array(n).fill(req), 8, false)
  const nodeCpuMs = selfCpuMs() - node0
  return {
    label: 'GET /.well-known/vouch',
    batch: 1,
    concurrency: 8,
    requests: n,
    statements: n,
    accepted: 0,
    duplicate: 0,
    wallMs: res.wallMs,
    p50: percentile(res.latencies, 50),
    p99: percentile(res.latencies, 99),
    cpu: meter.stop() as Run['cpu'],
    nodeCpuMs,
  }
}

/**
 * Bare verify: CPU ms of the baseline worker's runtime per crypto.subtle.verify, 1000 a request.
 * Trials are spread over the whole benchmark (one before each run), and the baseline is their
 * median, so it sees the same machine as the runs it is compared with.
 */
function verifyBaseline(worker: RunningWorker, keys: BenchKey[], time: number, perTrial: number) {
  const samples: number[] = []
  let body: Buffer | undefined
  const reqs = (count: number): Req[] =>
    Array.from({ length: Math.ceil(count / 1000) }, (_, i) => ({ method: 'POST', path: `/verify?offset=${(i * 37) % 1000}&n=1000` }))
  const check = (responses: { status: number; body: string }[]) => {
    for (const r of responses) {
      if (r.status !== 200) throw new HttpError(r.status, r.body)
      const b = JSON.parse(r.body) as { verified: number; valid: number }
      if (b.verified !== 1000 || b.valid !== 1000) throw new Error(`verify worker: ${r.body}`)
    }
  }
  const trial = () =>
    measured([worker], 'bare verify', async (attempt) => {
      const client = makeClient(worker.url, 4) // fresh connections, as for the runs
      try {
        if (attempt > 1 || samples.length === 0) {
          body ??= Buffer.from(verifyLoad(await signPool(keys, 'verify', 1000, time)))
          const loaded = await client.send({ method: 'POST', path: '/load', body })
          if (loaded.status !== 200) throw new HttpError(loaded.status, loaded.body)
          check((await client.load(reqs(2000), 4)).responses) // warm-up
        }
        const todo = reqs(perTrial)
        const meter = new CpuMeter(worker.pids).start()
        const res = await client.load(todo, 4)
        const cpu = meter.stop()
        check(res.responses)
        samples.push(cpu.runtime! / (todo.length * 1000))
      } finally {
        client.close()
      }
    })
  return { trial, samples, median: () => percentile(samples, 50) }
}

/**
 * CPU ms per unit of work, robust to a busy machine: grows `reps` until one call costs about
 * `targetMs` of CPU (the clock ticks are 10 ms), then takes the median of `trials` calls.
 */
async function cpuPerUnit(call: (reps: number) => Promise<number>, unitsPerRep: number, targetMs: number, trials = 3): Promise<number> {
  await call(1) // warm-up
  let reps = 2
  for (;;) {
    const cpu = await call(reps)
    if (cpu >= targetMs || reps >= 20_000) break
    reps = Math.min(20_000, Math.ceil((reps * targetMs * 1.2) / Math.max(cpu, 10)))
  }
  const samples: number[] = []
  for (let t = 0; t < trials; t++) samples.push((await call(reps)) / (reps * unitsPerRep))
  return percentile(samples, 50)
}

/**
 * CPU µs per statement of each stage inside workerd (bench/lib/stage-worker.ts), and of the
 * relay's insertStatements into a local D1 in the same process, as in the relay.
 */
async function profileInWorkerd(text: string, cpuTargetMs: number, nodeUs: number[]): Promise<StageRow[]> {
  const { worker, dir } = await startMigratedWorker('bench/lib/stage-worker.toml', 'vouch-bench-stages-')
  const names = (await prepareStages(text)).map(({ name, depth }) => ({ name, depth }))
  const client = makeClient(worker.url, 1)
  const call = async (path: string, body?: Buffer) => {
    const r = await client.send({ method: 'POST', path, body })
    if (r.status !== 200) throw new HttpError(r.status, r.body)
  }
  const timed = async (path: string) => {
    const meter = new CpuMeter(worker.pids).start()
    await call(path)
    return meter.stop().runtime!
  }
  // Each stage is one measured unit: a reload (the sources changed) repeats only that stage.
  let loaded = false
  const stage = (label: string, fn: () => Promise<number>) =>
    measured([worker], label, async (attempt) => {
      if (!loaded || attempt > 1) await call('/load', Buffer.from(text)), (loaded = true)
      return fn()
    })
  try {
    const rows: StageRow[] = []
    for (const [i, { name, depth }] of names.entries()) {
      const ms = await stage(`stage ${name}`, () => cpuPerUnit((reps) => timed(`/run?stage=${i}&reps=${reps}`), 1000, cpuTargetMs))
      rows.push({ name, depth, workerdUs: ms * 1000, nodeUs: nodeUs[i]! })
    }
    const insertMs = await stage('stage D1 insert', () =>
      cpuPerUnit(async (reps) => (await call(`/d1/prepare?reps=${reps}`), timed('/d1/run')), 1000, cpuTargetMs),
    )
    rows.push({ name: D1_INSERT, depth: 0, workerdUs: insertMs * 1000, nodeUs: NaN })
    const singleMs = await stage('stage D1 insert, batch 1', () =>
      cpuPerUnit(async (reps) => (await call(`/d1/prepare?reps=${reps}&size=1`), timed('/d1/run')), 1, cpuTargetMs),
    )
    rows.push({ name: D1_INSERT_ONE, depth: 1, workerdUs: singleMs * 1000, nodeUs: NaN })
    return rows
  } finally {
    client.close()
    await worker.dispose()
    removeDir(dir)
  }
}

const D1_INSERT = 'D1 insert: insertStatements, local D1 (SQLite in workerd)'
const D1_INSERT_ONE = '(the same, one statement per call: µs per call)'

interface ReportInput {
  quick: boolean
  runs: Run[]
  verifyCpuMs: number
  verifySamples: number[]
  roundTrip: Run
  store: StoreReport
  stages: StageRow[]
  signing: number
  elapsedS: number
}

function render(r: ReportInput): { text: string; markdown: string } {
  const { runs, verifyCpuMs, roundTrip: rt, store, stages } = r
  const rtRate = reqRate(rt)
  const us = (ms: number) => fmt(ms * 1000)

  const ingestRows = [
    ['run', 'in flight', 'requests', 'statements', 'req/s', 'accepted/s', 'vs 5k/s', 'vs GET/s', 'p50 ms', 'p99 ms', 'CPU µs/stmt', 'vs verify', 'dev proxy µs/stmt'],
    [
      'GET /.well-known/vouch',
      String(rt.concurrency),
      rt.requests.toLocaleString('en-US'),
      '—',
      fmt(rtRate),
      '—',
      '—',
      '1.00x',
      fmt(rt.p50),
      fmt(rt.p99),
      `${us(rt.cpu.runtime / rt.requests)} /req`,
      ratio(rt.cpu.runtime / rt.requests / verifyCpuMs),
      `${us(rt.cpu.proxy / rt.requests)} /req`,
    ],
    ...runs.map((run) => [
      run.label,
      String(run.concurrency),
      run.requests.toLocaleString('en-US'),
      run.statements.toLocaleString('en-US'),
      fmt(reqRate(run)),
      run.accepted ? fmt(rate(run)) : `(${fmt(rate(run))})`,
      run.accepted ? ratio(rate(run) / TARGET_PER_S) : '—',
      run.accepted ? ratio(rate(run) / rtRate) : '—',
      fmt(run.p50),
      fmt(run.p99),
      us(cpuPerStatement(run)),
      ratio(cpuPerStatement(run) / verifyCpuMs),
      us(run.cpu.proxy / run.statements),
    ]),
  ]

  const fresh = runs.filter((run) => run.accepted)
  const dup = runs.find((run) => !run.accepted)
  const costRows = [
    ['batch', 'D1 rows written/stmt', 'KV writes/stmt', 'CPU ms/stmt', 'D1 $/M stmts', 'CPU $/M', 'requests $/M', 'total $/M stmts'],
    ...fresh.filter((run, i) => fresh.findIndex((o) => o.batch === run.batch) === i).map((run) => {
      const cpuMs = cpuPerStatement(run)
      const rows = store.gated.find((g) => g.batch === run.batch)?.rowsWrittenPerStatement ?? store.rowsWrittenPerStatement
      const d1 = rows * PRICE.d1RowWritten * 1e6
      const kv = 0 * PRICE.kvWrite * 1e6
      const cpu = cpuMs * PRICE.workerCpuMs * 1e6
      const reqs = (PRICE.workerRequest * 1e6) / run.batch
      return [String(run.batch), fmt(rows), '0', fmt(cpuMs), money(d1), money(cpu), money(reqs), money(d1 + kv + cpu + reqs)]
    }),
  ]

  const big = fresh.find((run) => run.batch === 1000) ?? fresh[fresh.length - 1]!
  const bigUs = cpuPerStatement(big) * 1000
  const stageRows = [
    ['stage (one batch of 1000)', 'workerd µs/stmt', '% of relay CPU at batch 1000', 'Node µs/stmt'],
    ...stages.map((s) => [
      `${'  '.repeat(s.depth)}${s.name}`,
      fmt(s.workerdUs),
      s.name === D1_INSERT_ONE ? '—' : `${((100 * s.workerdUs) / bigUs).toFixed(0)}%`,
      Number.isNaN(s.nodeUs) ? '—' : fmt(s.nodeUs),
    ]),
  ]

  // The handler's work for one batch of 1000, from the workerd stage profile alone (one set of
  // conditions), split so that nothing is counted twice.
  const st = (prefix: string) => stages.find((s) => s.name.startsWith(prefix))?.workerdUs ?? 0
  const didKey = st('decodeDidKey(actor): base58') + st('decodeDidKey(actor), second')
  const sig = st('decodeBase64url(sig) +') + st('decodeBase64url(sig), second')
  const shapeOther = st('ensureStatementShape') - st('decodeDidKey(actor): base58') - st('decodeBase64url(sig) +')
  const verifyParts =
    st('ensureStatementShape') + st('canonicalize') + st('decodeDidKey(actor), second') + st('decodeBase64url(sig), second') +
    st('weakKeyReason') + st('signingBytes') + st('verify()') + st('sha256')
  const parts: [string, number][] = [
    ['parse: UTF-8 decode + strict parseJson', st('UTF-8') + st('strict parseJson')],
    ['Ed25519 verify (bare WebCrypto)', st('bare crypto.subtle.verify')],
    ['verify() around it: strict checks, key cache', st('verify()') - st('bare crypto.subtle.verify')],
    ['decodeDidKey(actor), twice (base58)', didKey],
    ['decodeBase64url(sig), twice', sig],
    ['other shape checks (incl. parseSri)', shapeOther],
    ['canonical form, twice (id bytes, signing bytes)', st('canonicalize') + st('signingBytes')],
    ['sha256 id', st('sha256')],
    ['verifyStatement rest: promises, GC (whole − parts)', st('verifyStatement') - verifyParts],
    ['D1 parameter rows + response JSON', st('D1 parameter') + st('response')],
    ['D1 insert (local D1 in workerd)', st(D1_INSERT)],
  ]
  const handlerUs = parts.reduce((n, [, v]) => n + v, 0)
  const budgetRows = [
    ['handler work per statement, batch of 1000 (workerd)', 'µs/stmt', 'share'],
    ...parts.map(([name, v]) => [name, fmt(v), `${((100 * v) / handlerUs).toFixed(0)}%`]),
    ['sum (stage profile)', fmt(handlerUs), '100%'],
    [`relay measured at batch ${big.batch} (HTTP, Hono, body stream, D1 hop included)`, fmt(bigUs), `${((100 * bigUs) / handlerUs).toFixed(0)}%`],
  ]

  const best = fresh.reduce((a, run) => (rate(run) > rate(a) ? run : a), fresh[0]!)
  const runtimeShare = (run: Run) => ((100 * run.cpu.runtime) / (run.cpu.runtime + run.cpu.proxy)).toFixed(0)
  const one = fresh.find((run) => run.batch === 1) ?? fresh[0]!
  const facts = [
    `machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}, load average ${loadAverage()} at the end; ` +
      `${r.quick ? 'QUICK run' : 'full run'}, ${fmt(r.elapsedS)} s`,
    `bare verify (bench/verify-worker.ts: crypto.subtle.verify, keys imported once): ${us(verifyCpuMs)} µs CPU each in workerd ` +
      `(median of ${r.verifySamples.length} trials spread over the run, ${us(Math.min(...r.verifySamples))}–${us(Math.max(...r.verifySamples))}), ` +
      `${fmt(1 / verifyCpuMs * 1000)} verifies/s per core; Node signs ${fmt(r.signing)} statements/s`,
    `target ${fmt(TARGET_PER_S)} accepted/s: best ${fmt(rate(best))}/s at batch ${best.batch} (${ratio(rate(best) / TARGET_PER_S)}); ` +
      `target CPU ≤ ${TARGET_CPU_RATIO}x verify: ${ratio(cpuPerStatement(big) / verifyCpuMs)} at batch ${big.batch}; ` +
      `without the local D1's share (${fmt(st(D1_INSERT))} µs, which production D1 runs outside the Worker) ` +
      `${ratio((bigUs - st(D1_INSERT)) / 1000 / verifyCpuMs)}; ` +
      `relay CPU alone would allow ${fmt(1000 / cpuPerStatement(big))} statements/s per core at batch ${big.batch}`,
    `batch 1 costs ${us(cpuPerStatement(one))} µs of runtime CPU per request: a GET round trip costs ${us(rt.cpu.runtime / rt.requests)}, ` +
      `one local D1 call ${fmt(st(D1_INSERT_ONE))}, verifyStatement ${fmt(st('verifyStatement'))} (with a warm key cache)`,
    `which process works: the relay's runtime workerd (Worker + local D1) did ${runtimeShare(big)}% of the workerd CPU at batch ${big.batch}, ` +
      `${runtimeShare(one)}% at batch ${one.batch}; the rest is wrangler's dev proxy. The load generator (this Node process) used ` +
      `${us(big.nodeCpuMs / big.statements)} µs/stmt at batch ${big.batch}, ${us(one.nodeCpuMs / one.statements)} at batch ${one.batch}`,
    `D1 per statement (meta of the relay's insertStatements on ${fmt(store.inserted)} statements with an object): ${fmt(store.rowsWrittenPerStatement)} rows written ` +
      `(schema: table + UNIQUE(id) + subject, object, actor indexes = 5), ${fmt(store.rowsReadPerStatement)} rows read; ` +
      `${fmt(store.rowsWrittenNoObject)} rows written without an object (the object index is partial)`,
    `D1 per statement through the whole ingest path (relay config, gate on; ${KEYS} keys in turn as in the runs, so a batch has min(batch, ${KEYS}) actors and ` +
      `upserts that many usage-ledger rows): ${store.gated.map((g) => `batch ${g.batch} ${fmt(g.rowsWrittenPerStatement)}`).join(', ')} rows written; the cost table uses these`,
    dup ? `duplicates (the same batches again, nothing written): ${us(cpuPerStatement(dup))} µs/stmt vs ${fmt(bigUs)} fresh` : '',
    `KV: ${store.kvKeys} keys after ingest (0 writes per statement by design; GET by id fills the cache); D1 holds ${fmt(store.storedRows)} statements`,
    reloadCount()
      ? `${reloadCount()} run(s) were repeated because a worker reloaded (its sources changed during the benchmark): ` +
        'runs may have measured different versions of the code'
      : '',
    'prices: D1 $1/M rows written, Workers $0.30/M requests and $0.02/M CPU-ms, KV $5/M writes; ' +
      'CPU is the local runtime\u2019s and includes SQLite, so it overstates Worker CPU',
  ].filter(Boolean)

  const sections: [string, string[][], number][] = [
    ['ingest: POST /v1/statements', ingestRows, 1],
    ['cost per statement (operator)', costRows, 1],
    ['where the time goes: handler stages', stageRows, 1],
    ['CPU budget: where a statement\u2019s CPU goes', budgetRows, 1],
  ]
  const text = [
    ...sections.flatMap(([title, rows, from]) => [`== ${title} ==`, '', table(rows, from), '']),
    ...facts.map((f) => `- ${f}`),
  ].join('\n')
  const nbsp = (rows: string[][]) => rows.map((row) => [row[0]!.replace(/^ +/, (s) => '&nbsp;'.repeat(s.length * 2)), ...row.slice(1)])
  const markdown = [
    ...sections.flatMap(([title, rows, from]) => [`**${title}**`, '', markdownTable(nbsp(rows), from), '']),
    ...facts.map((f) => `- ${f}`),
  ].join('\n')
  return { text, markdown }
}
