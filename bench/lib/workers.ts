import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { unstable_startWorker, type Binding } from 'wrangler'
import { benchFetch } from './client-ip.ts'
import { HttpError } from './load.ts'
import { childProcesses, openFilesUnder, pidListeningOn, running } from './proc.ts'

const run = promisify(execFile)

// No network in the benchmark: Miniflare otherwise fetches the `Request.cf` object from
// workers.cloudflare.com on start and warns when it cannot.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false'

export const freshDir = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix))
export const removeDir = (dir: string) => rmSync(dir, { recursive: true, force: true })

/** `wrangler d1 migrations apply DB --local --persist-to DIR`, the command an operator runs. */
export async function applyMigrations(dir: string, config = 'wrangler.toml'): Promise<void> {
  await run('npx', ['wrangler', 'd1', 'migrations', 'apply', 'DB', '--local', '--persist-to', dir, '--config', config], {
    env: { ...process.env, CI: '1', WRANGLER_SEND_METRICS: 'false' },
  })
}

/** A fresh state directory with the migrations applied and a Worker of `config` running on it; the directory is removed if either step fails. */
export async function startMigratedWorker(config: string, prefix: string): Promise<{ worker: RunningWorker; dir: string }> {
  const dir = freshDir(prefix)
  try {
    await applyMigrations(dir, config)
    return { worker: await RunningWorker.start(config, dir), dir }
  } catch (e) {
    removeDir(dir)
    throw e
  }
}

/** Every worker this process started and has not disposed, to tell their processes apart. */
const live = new Set<RunningWorker>()

/**
 * A Worker started in-process with wrangler's `unstable_startWorker` (the engine of
 * `wrangler dev`) and its two workerd processes:
 *   - `runtime` runs the Worker's code and, locally, its D1 and KV simulators;
 *   - `proxy` is wrangler dev's ProxyWorker, which every request to `url` passes through first
 *     (dev only; production has no such hop).
 * wrangler's esbuild always watches the Worker's sources (4.86 ignores `dev.watch`), and a
 * change restarts the runtime under a new pid; `refresh()` finds it again.
 */
export class RunningWorker {
  private constructor(
    readonly url: URL,
    readonly pids: { runtime: number; proxy: number },
    /** Persist directory (data under DIR/v3). */
    readonly dir: string,
    private readonly probePath: string,
    private readonly stop: () => Promise<void>,
  ) {}

  /** `bindings` are added to (or override) the config's, e.g. `{ ADMIN_TOKEN: { type: 'secret_text', value } }`. */
  static async start(config: string, dir: string, probePath = '/', bindings?: Record<string, Binding>, dev?: { testScheduled?: boolean }): Promise<RunningWorker> {
    const before = new Set(childProcesses())
    const worker = await unstable_startWorker({
      config,
      sendMetrics: false,
      ...(bindings && { bindings }),
      // `persist: DIR` resolves like `--persist-to DIR`: data under DIR/v3, where
      // `wrangler d1 migrations apply --persist-to DIR` wrote the schema.
      dev: { server: { port: 0 }, inspector: false, persist: dir, watch: false, logLevel: 'warn', ...dev },
    })
    const url = await worker.url
    await worker.ready
    // The runtime process starts with the first reload; one request makes sure it is up.
    await (await benchFetch(new URL(probePath, url))).arrayBuffer()
    const fresh = childProcesses().filter((p) => !before.has(p))
    const proxy = pidListeningOn(Number(url.port), fresh)
    const others = fresh.filter((p) => p !== proxy)
    if (proxy === undefined || others.length !== 1) {
      await worker.dispose()
      throw new Error(`expected a proxy and a runtime workerd for ${config}; found ${fresh.join(', ')} (proxy ${proxy})`)
    }
    const w = new RunningWorker(url, { runtime: others[0]!, proxy }, dir, probePath, () => worker.dispose())
    live.add(w)
    return w
  }

  /** Whether the runtime process we measure is still the one running. */
  alive(): boolean {
    return running(this.pids.runtime)
  }

  /** After a reload, finds the new runtime process. Returns true if it changed. */
  async refresh(): Promise<boolean> {
    if (this.alive()) return false
    for (let i = 0; i < 50; i++) {
      await (await benchFetch(new URL(this.probePath, this.url))).arrayBuffer()
      const taken = new Set([...live].flatMap((w) => (w === this ? [w.pids.proxy] : [w.pids.runtime, w.pids.proxy])))
      const candidates = childProcesses().filter((p) => !taken.has(p))
      if (candidates.length === 1) {
        this.pids.runtime = candidates[0]!
        return true
      }
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error(`lost the runtime workerd of the worker at ${this.url.href}`)
  }

  async dispose(): Promise<void> {
    live.delete(this)
    await this.stop()
  }
}

/** The relay from wrangler.toml on a fresh, migrated local D1 (with `bindings` added, if given). */
export async function startRelay(bindings?: Record<string, Binding>): Promise<RunningWorker> {
  const dir = freshDir('vouch-bench-relay-')
  let relay: RunningWorker
  try {
    await applyMigrations(dir)
    relay = await RunningWorker.start('wrangler.toml', dir, '/.well-known/vouch', bindings)
  } catch (e) {
    removeDir(dir)
    throw e
  }
  // The runtime, not the proxy, must be the process holding the persisted D1 files.
  if (openFilesUnder(relay.pids.runtime, dir).length === 0 || openFilesUnder(relay.pids.proxy, dir).length > 0) {
    await relay.dispose()
    removeDir(dir)
    throw new Error(`could not tell the relay's runtime workerd from its proxy (pids ${JSON.stringify(relay.pids)})`)
  }
  return relay
}

/** wrangler's dev proxy answers 503 to requests caught by a reload (GETs it retries itself). */
export const isReloadError = (e: unknown): boolean =>
  e instanceof HttpError &&
  ((e.status === 503 && /restarted mid-request/i.test(e.body)) ||
    // the bench's own workers lose what they were sent when they restart
    (e.status === 409 && /POST \/load first/.test(e.body)))

let reloads = 0
/** Runs that had to be repeated because a worker reloaded. */
export const reloadCount = () => reloads

/**
 * Runs `fn` (one measured run) and, if a worker reloaded meanwhile (a watched source file
 * changed), finds the new runtime process and runs it again: the numbers of a run that straddled
 * a reload are worthless. A connection reset is retried too. `fn` must bring its own fresh
 * statements on every attempt.
 */
export async function measured<T>(workers: RunningWorker[], label: string, fn: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    for (const w of workers) await w.refresh()
    try {
      const result = await fn(attempt)
      if (workers.every((w) => w.alive())) return result
      if (attempt >= 4) throw new Error(`${label}: workers kept reloading`)
    } catch (e) {
      const reset = (e as { code?: unknown } | null)?.code === 'ECONNRESET'
      if ((!isReloadError(e) && !reset && workers.every((w) => w.alive())) || attempt >= 4) throw e
      if (reset && workers.every((w) => w.alive())) {
        console.error(`${label}: connection reset (${String(e)}); running it again`)
        continue
      }
    }
    reloads++
    console.error(`${label}: a worker reloaded during the run (a watched source file changed); running it again`)
    await new Promise((r) => setTimeout(r, 1000))
  }
}
