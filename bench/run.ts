/**
 * Benchmark dispatcher: `npm run bench -- <name> [options]` runs bench/<name>.ts, which exports
 * `main(args)`. Modules load lazily, so one benchmark's imports (wrangler, workerd) cost nothing
 * when running or listing another.
 */

export interface Benchmark {
  main(args: string[]): Promise<void>
}

const BENCHMARKS: Record<string, { description: string; load: () => Promise<Benchmark> }> = {
  ingest: {
    description: 'POST /v1/statements throughput, latency, CPU per statement and cost (--quick for a short run; --cpu-budget 10 for CPU per request at the Free-plan caps)',
    load: () => import('./ingest.ts'),
  },
  gossip: {
    description: 'push convergence, deliveries per statement and catch-up bytes on N local relays (--relays 5,10 --topology ring|mesh --quick)',
    load: () => import('./gossip.ts'),
  },
  client: {
    description: '`vouch publish` of a ~100 MiB tree vs tar | sha256sum + curl upload; `vouch --help` startup (--quick)',
    load: () => import('./client.ts'),
  },
  bridge: {
    description: 'npm bridge: statements/s bridging a 1,000-version packument vs relay ingest; following a changes feed vs parse + sign; the bridge Worker\'s CPU per cron run (--versions N --max-changes N,N --quick)',
    load: () => import('./bridge.ts'),
  },
  blobs: {
    description: 'PUT/GET /v1/blobs of 1 KiB, 1 MiB, 64 MiB (and a 1 MiB range) vs raw local R2 in the same run, MiB/s and CPU/MiB (--quick)',
    load: () => import('./blobs.ts'),
  },
}

BENCHMARKS.nar = {
  description: 'NAR directory hashing throughput vs node:crypto, sha256sum and nix-hash (--quick)',
  load: () => import('./nar.ts'),
}

BENCHMARKS.policy = {
  description: 'trust-policy verdict latency over 10k, 100k and 1M statements with a warm index (--quick)',
  load: () => import('./policy.ts'),
}

BENCHMARKS.hostile = {
  description: 'CPU per request of hostile POST bodies vs a valid 1,000-statement batch and vs JSON.parse of the same bytes (--quick)',
  load: () => import('./hostile.ts'),
}

BENCHMARKS.scale = {
  description: 'a relay holding 1M statements (--large: 10M): D1 bytes per statement and index, query plans, query latency, ingest vs empty (--quick --keep --dir DIR; --shards 4: the index sharded by subject hash)',
  load: () => import('./scale.ts'),
}

BENCHMARKS['search-parts'] = {
  description: "where a search's time goes: its D1 reads and its page rendering on the scale benchmark's 1M file (--dir DIR from `scale --keep`)",
  load: () => import('./search-parts.ts'),
}

BENCHMARKS.check = {
  description: '`vouch check` of a 1,500-package lockfile against a local relay with bridged claims, the same from an offline bundle, and the own package-lock.json (--packages N --rounds N --quick)',
  load: () => import('./check.ts'),
}

BENCHMARKS.log = {
  description: 'the feed as a log: integration CPU per statement vs ingest, R2 writes per 1,000 statements, checkpoint delay (--quick)',
  load: () => import('./log.ts'),
}

BENCHMARKS.catchup = {
  description: 'a fresh mirror copies N statements (100,000; --quick 10,000; --n N) from log bundles vs feed pages: statements/s, source D1 rows read, bytes',
  load: () => import('./catchup.ts'),
}

const usage = () =>
  [
    'usage: npm run bench -- <name> [options]',
    '',
    'benchmarks:',
    ...Object.entries(BENCHMARKS).map(([name, b]) => `  ${name.padEnd(8)} ${b.description}`),
  ].join('\n')

const [name, ...args] = process.argv.slice(2)
const entry = name === undefined ? undefined : BENCHMARKS[name]
if (!entry) {
  const help = name === undefined || name === '--help' || name === '-h'
  if (!help) console.error(`unknown benchmark ${JSON.stringify(name)}\n`)
  console.error(usage())
  process.exit(help ? 0 : 2)
}
try {
  await (await entry.load()).main(args)
} catch (e) {
  console.error(e)
  process.exitCode = 1
}
