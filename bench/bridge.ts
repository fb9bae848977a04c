/**
 * npm bridge benchmark: statements per second bridging a packument with 1,000 versions, against
 * the relay's own ingest rate for the same number of pre-signed statements, in the same run on the
 * same local relay (the real Worker under wrangler's dev engine, `scripts/network-harness.ts`).
 *
 * Measured, each several rounds with a fresh bridge key (so every statement is new):
 *   plan + sign   parse the packument, build the claims, sign and verify each (`signAndPublish`
 *                 with dryRun: no network);
 *   bridge (new)  `bridgeNpm`: fetch the packument, ask the relay what this key already said
 *                 (one scan of the key's `published` statements; per-version queries only for
 *                 a key with a long history), sign, POST in batches of 1,000;
 *   bridge (again) the same run once everything is published: the lookups, and nothing to POST;
 *   relay ingest  POST /v1/statements of 1,000 statements signed beforehand, one batch.
 *
 *
 * Then the following bridge (bench/bridge-follow.ts): follow throughput over a stand-in changes
 * feed of --follow-packages packages × 10 versions against parse + sign alone, and the bridge
 * Worker's CPU per cron run at each of --max-changes.
 *
 * `npm run bench -- bridge [--versions N] [--rounds N] [--follow-packages N] [--max-changes 100,500,2000]
 *  [--cron-runs N] [--quick] [--markdown]`; docs/PERFORMANCE.md.
 */
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import { cpus, loadavg } from 'node:os'
import { startNetwork } from '../scripts/network-harness.ts'
import { bridgeNpm, npmClaim, readPackument, signAndPublish } from '../src/bridges/index.ts'
import { createStatement, keySigner, sign } from '../src/client/index.ts'
import { encodeDidKey, keyPairFromSeed, type Statement } from '../src/verify/index.ts'
import { cronCpu, followThroughput } from './bridge-follow.ts'
import { benchFetch } from './lib/client-ip.ts'
import { fmt, markdownTable, median, ratio, table } from './lib/stats.ts'
import { benchOptions } from './lib/options.ts'

const REGISTRY = 'https://registry.example'

/** A packument shaped like the registry's: per version a manifest with dist {integrity, shasum, tarball}. */
export function packument(name: string, versions: number): string {
  const v: Record<string, unknown> = {}
  const time: Record<string, string> = { created: '2020-01-01T00:00:00.000Z', modified: '2024-01-01T00:00:00.000Z' }
  for (let i = 0; i < versions; i++) {
    const version = `${Math.floor(i / 100)}.${Math.floor(i / 10) % 10}.${i % 10}`
    const tgz = Buffer.from(`${name}@${version}`)
    v[version] = {
      name,
      version,
      description: 'A package for the bridge benchmark',
      main: 'index.js',
      license: 'MIT',
      dependencies: { 'left-pad': '^1.3.0' },
      dist: {
        integrity: `sha512-${createHash('sha512').update(tgz).digest('base64')}`,
        shasum: createHash('sha1').update(tgz).digest('hex'),
        tarball: `${REGISTRY}/${name}/-/${name}-${version}.tgz`,
        fileCount: 3,
        unpackedSize: 4096,
      },
      ...(i % 7 === 0 && { deprecated: 'this version has a bug; upgrade' }),
    }
    time[version] = new Date(Date.UTC(2020, 0, 1) + i * 86_400_000).toISOString()
  }
  return JSON.stringify({ _id: name, name, 'dist-tags': { latest: Object.keys(v).at(-1) }, versions: v, time })
}

async function key(n: number) {
  const kp = await keyPairFromSeed(new Uint8Array(32).fill(0xc0).map((b, i) => (i === 0 ? n & 0xff : i === 1 ? n >> 8 : b)))
  return { ...kp, did: encodeDidKey(kp.publicKey) }
}

export async function main(args: string[]): Promise<void> {
  // --max-changes takes a list (N,N,…), read below; the others are positive integers.
  const options = benchOptions(args, ['versions', 'rounds', 'follow-packages', 'max-changes', 'cron-runs'], ['quick', 'markdown'])
  const opt = options.number
  const quick = args.includes('--quick')
  const followPackages = opt('follow-packages', quick ? 60 : 200)
  const cronRuns = opt('cron-runs', 2)
  const mc = args.indexOf('--max-changes')
  const maxChanges = mc < 0 ? (quick ? [100, 500] : [100, 500, 2000]) : args[mc + 1]!.split(',').map(Number)
  if (!maxChanges.every((n) => Number.isSafeInteger(n) && n > 0)) throw new Error('--max-changes needs positive integers, comma-separated')
  const FOLLOW_VERSIONS = 10
  const feed = new Map<string, string>()
  for (let i = 0; i < Math.max(followPackages, Math.max(...maxChanges) * cronRuns); i++) feed.set(`bench-follow-${i}`, packument(`bench-follow-${i}`, FOLLOW_VERSIONS))
  const versions = opt('versions', quick ? 300 : 1000)
  const rounds = opt('rounds', quick ? 2 : 5)
  const name = 'vouch-bench-pkg'
  const doc = packument(name, versions)

  const server = createServer((req, res) => {
    if (req.url === `/${name}`) res.writeHead(200, { 'content-type': 'application/json' }).end(doc)
    else res.writeHead(404).end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  const mapped: typeof fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    return benchFetch(url.replace(REGISTRY, origin), init)
  }

  console.error(`packument: ${versions} versions, ${fmt(doc.length / 1024)} KiB; starting one local relay…`)
  // The cron runs sign up to MAX_CHANGES × 10 statements a run under one key: above the default daily quota.
  const net = await startNetwork({ relays: 1, topology: 'line', vars: { QUOTA_STATEMENTS_PER_DAY: '100000000' } })
  const relays = [net.relays[0]!.url]
  const results: Record<string, number[]> = { plan: [], bridge: [], again: [], ingest: [] }
  let followRows: string[][] = []
  let cronRows: string[][] = []
  try {
    let k = 1
    // Warm-up: one bridge run and one ingest POST, not counted (JIT, D1 file creation, key caches).
    await bridgeNpm(name, { relays, signer: keySigner(await key(k++)), fetch: mapped, registry: REGISTRY })

    for (let r = 0; r < rounds; r++) {
      // plan + sign: everything but the network.
      const planKey = await key(k++)
      let t0 = performance.now()
      const parsed = readPackument(new TextEncoder().encode(doc), name)
      const planned = await signAndPublish(parsed.versions.map((v) => npmClaim(v, REGISTRY)), { relays, signer: keySigner(planKey), dryRun: true })
      results.plan!.push(planned.statements.length / ((performance.now() - t0) / 1000))
      const now = Date.now()

      // bridge, every statement new.
      const bridgeKey = await key(k++)
      const o = { relays, signer: keySigner(bridgeKey), fetch: mapped, registry: REGISTRY }
      t0 = performance.now()
      const first = await bridgeNpm(name, o)
      results.bridge!.push(first.statements.length / ((performance.now() - t0) / 1000))
      if (first.statements.length !== versions) throw new Error(`bridged ${first.statements.length} of ${versions}`)

      // again: nothing new.
      t0 = performance.now()
      const again = await bridgeNpm(name, o)
      results.again!.push(versions / ((performance.now() - t0) / 1000))
      if (again.statements.length !== 0) throw new Error('the second run published something')

      // relay ingest of the same number of statements, signed beforehand by another key.
      const ingestKey = await key(k++)
      const pre: Statement[] = []
      for (const v of parsed.versions) pre.push((await sign(createStatement({ ...npmClaim(v, REGISTRY), actor: ingestKey.did, time: now }), ingestKey)).statement)
      let posted = 0
      t0 = performance.now()
      for (let i = 0; i < pre.length; i += 1000) {
        const res = await benchFetch(`${relays[0]}/v1/statements`, { method: 'POST', body: JSON.stringify(pre.slice(i, i + 1000)), headers: { 'content-type': 'application/json' } })
        const body = (await res.json()) as { accepted: number }
        posted += body.accepted
      }
      results.ingest!.push(posted / ((performance.now() - t0) / 1000))
      if (posted !== versions) throw new Error(`the relay accepted ${posted} of ${versions}`)
      console.error(`round ${r + 1}/${rounds}: bridge ${fmt(results.bridge!.at(-1)!)} /s, ingest ${fmt(results.ingest!.at(-1)!)} /s`)
    }
    followRows = await followThroughput(relays, new Map([...feed].slice(0, followPackages)), rounds, 1000)
    cronRows = await cronCpu(relays, feed, maxChanges, cronRuns)
  } finally {
    await net.stop()
    server.close()
  }

  const ingest = median(results.ingest!)
  const rows = [
    ['stage', 'what', 'statements/s (median)', 'min', 'max', 'vs ingest'],
    ...(
      [
        ['plan + sign', 'parse, claim, sign + verify; no network', results.plan!],
        ['bridge (new)', 'fetch, look up what the key said, sign, POST', results.bridge!],
        ['bridge (again)', 'fetch, look up, nothing to POST (versions/s)', results.again!],
        ['relay ingest', 'POST of as many pre-signed statements', results.ingest!],
      ] as const
    ).map(([stage, what, xs]) => [stage, what, fmt(median([...xs])), fmt(Math.min(...xs)), fmt(Math.max(...xs)), ratio(median([...xs]) / ingest)]),
  ]
  console.log(`\n${versions} versions, ${rounds} rounds, 1 local relay (wrangler dev engine); ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load ${loadavg()[0]!.toFixed(2)}\n`)
  const show = (t: string[][]) => console.log(args.includes('--markdown') ? markdownTable(t, 2) : table(t, 2))
  show(rows)
  console.log(`\nfollowing a stand-in changes feed of ${followPackages} packages × ${FOLLOW_VERSIONS} versions into the same relay, ${rounds} rounds\n`)
  show(followRows)
  console.log(`\nthe bridge Worker's cron run (bridge.wrangler.toml, wrangler dev engine): runtime workerd CPU, ${cronRuns} runs each, ${FOLLOW_VERSIONS} versions a package\n`)
  show(cronRows)
}
