import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { unstable_startWorker } from 'wrangler'

/**
 * Runs N vouch relays on this machine: each is the real Worker under wrangler's dev engine
 * (`unstable_startWorker`, what `wrangler dev` runs) with its own port and persisted D1/KV, peered
 * in a ring, mesh, star or line. Used by `npm run network` and by the gossip tests.
 */

// No internet here: do not ask workers.cloudflare.com for the `Request.cf` object.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false'

const run = promisify(execFile)
export type Topology = 'ring' | 'mesh' | 'star' | 'line'
export const ADMIN_TOKEN = 'local-network-admin-token'

export interface NetworkOptions {
  relays: number
  topology: Topology
  /** State directory; a fresh temp dir by default. */
  dir?: string
  /** Outbound timeout for peer requests (ms). */
  peerTimeoutMs?: number
  /** Extra peer URLs per relay index (e.g. misbehaving test servers). */
  extraPeers?: Record<number, string[]>
  /** More settings for every relay (wrangler.toml [vars] names), e.g. UPSTREAM_CACHES. */
  vars?: Record<string, string>
  /** Settings for one relay by index, over `vars` (e.g. ADMISSION, PULL_PEERS instead of PEERS). */
  relayVars?: Record<number, Record<string, string>>
}

export interface Relay {
  index: number
  url: string
  port: number
  dir: string
  peers: string[]
  /** RELAY_KEY: a fresh Ed25519 seed per relay, so peers authenticate each other as in production. */
  relayKey: string
  running: boolean
  start(): Promise<void>
  stop(): Promise<void>
}

export function edgesOf(n: number, topology: Topology): [number, number][] {
  const edges: [number, number][] = []
  if (n < 2) return edges
  if (topology === 'mesh') for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) edges.push([i, j])
  if (topology === 'star') for (let i = 1; i < n; i++) edges.push([0, i])
  if (topology === 'line' || topology === 'ring') for (let i = 0; i + 1 < n; i++) edges.push([i, i + 1])
  if (topology === 'ring' && n > 2) edges.push([n - 1, 0])
  return edges
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

async function migrate(dir: string): Promise<void> {
  await run('npx', ['wrangler', 'd1', 'migrations', 'apply', 'DB', '--local', '--persist-to', dir], {
    env: { ...process.env, CI: '1', WRANGLER_SEND_METRICS: 'false' },
  })
}

/**
 * A state directory with the migrations applied, built once and copied for each relay. Applying
 * them runs wrangler's CLI, which starts its own workerd: seconds of CPU per relay, and the tests
 * start some 35 relays. The directory name is a hash of wrangler.toml, the migrations and the
 * wrangler version, so a change to any of them builds a new one; it is renamed into place only
 * when complete, so concurrent test files at worst build it twice.
 */
let template: Promise<string> | undefined
export function migratedTemplate(): Promise<string> {
  return (template ??= (async () => {
    const hash = createHash('sha256')
    hash.update(await readFile('wrangler.toml'))
    hash.update(await readFile('node_modules/wrangler/package.json'))
    for (const d of (await readdir('.', { withFileTypes: true })).filter((e) => e.isDirectory() && e.name.startsWith('migrations')).map((e) => e.name).sort()) {
      for (const f of (await readdir(d)).sort()) hash.update(`${d}/${f}\0`).update(await readFile(join(d, f))).update('\0')
    }
    const dir = join(tmpdir(), `vouch-migrated-${hash.digest('hex').slice(0, 24)}`)
    if (existsSync(dir)) return dir
    const building = await mkdtemp(`${dir}-building-`)
    try {
      await migrate(building)
      await writeFile(join(building, 'COMPLETE'), '')
      await rename(building, dir)
    } catch (e) {
      await rm(building, { recursive: true, force: true })
      if (!existsSync(join(dir, 'COMPLETE'))) throw e // else another process finished it first
    }
    return dir
  })().catch((e) => {
    template = undefined
    throw e
  }))
}

/** A relay directory with no state yet starts as a copy of the template; one with state is migrated in place. */
async function prepare(dir: string): Promise<void> {
  if (existsSync(join(dir, 'v3'))) return migrate(dir)
  await mkdir(dir, { recursive: true })
  await cp(join(await migratedTemplate(), 'v3'), join(dir, 'v3'), { recursive: true })
}

export async function startNetwork(o: NetworkOptions) {
  const root = o.dir ?? (await mkdtemp(join(tmpdir(), 'vouch-network-')))
  const ports = await Promise.all(Array.from({ length: o.relays }, freePort))
  const urls = ports.map((p) => `http://127.0.0.1:${p}`)
  const edges = edgesOf(o.relays, o.topology)
  const relays: Relay[] = urls.map((url, index) => {
    const peers = [
      ...edges.filter(([a, b]) => a === index || b === index).map(([a, b]) => urls[a === index ? b : a]!),
      ...(o.extraPeers?.[index] ?? []),
    ]
    const dir = join(root, `relay-${index}`)
    const relayKey = Buffer.from(randomBytes(32)).toString('base64url')
    let worker: Awaited<ReturnType<typeof unstable_startWorker>> | undefined
    const relay: Relay = {
      index,
      url,
      port: ports[index]!,
      dir,
      peers,
      relayKey,
      running: false,
      async start() {
        worker = await unstable_startWorker({
          config: 'wrangler.toml',
          name: `vouch-relay-${index}`,
          sendMetrics: false,
          bindings: {
            PEERS: { type: 'plain_text', value: peers.join(' ') },
            RELAY_URL: { type: 'plain_text', value: url },
            ALLOW_PRIVATE_PEERS: { type: 'plain_text', value: 'true' },
            PEER_TIMEOUT_MS: { type: 'plain_text', value: String(o.peerTimeoutMs ?? 10_000) },
            ADMIN_TOKEN: { type: 'secret_text', value: ADMIN_TOKEN },
            RELAY_KEY: { type: 'secret_text', value: relayKey },
            ...Object.fromEntries(Object.entries({ ...o.vars, ...o.relayVars?.[index] }).map(([k, value]) => [k, { type: 'plain_text' as const, value }])),
          },
          dev: { server: { hostname: '127.0.0.1', port: ports[index]! }, inspector: false, persist: dir, watch: false, logLevel: 'error', testScheduled: true },
        })
        await worker.ready
        relay.running = true
      },
      async stop() {
        relay.running = false
        await worker?.dispose()
        worker = undefined
      },
    }
    return relay
  })
  await Promise.all(relays.map((r) => prepare(r.dir)))
  for (const r of relays) await r.start()
  return {
    root,
    relays,
    edges,
    /** Runs one pull round on a relay now (what its cron does every minute). */
    async pull(i: number) {
      const res = await fetch(`${relays[i]!.url}/v1/admin/pull`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
      if (res.status !== 200) throw new Error(`pull on relay ${i}: HTTP ${res.status} ${await res.text()}`)
      return (await res.json()) as { reports: { peer: string; stored: number; invalid: number; bytes: number; pages: number; error?: string; skipped?: string }[] }
    },
    async stop() {
      await Promise.all(relays.map((r) => r.stop()))
    },
  }
}
