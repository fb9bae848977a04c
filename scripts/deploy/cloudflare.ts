/**
 * The few Cloudflare API calls the deploy makes itself: finding or creating resources by name,
 * the cron schedule and the workers.dev route. Everything that uploads or deploys code goes
 * through wrangler instead, so its bundling and upload format stay the supported ones.
 */

/** An API answer that was not `success`, with Cloudflare's error codes kept for callers to match. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly codes: number[],
    message: string,
  ) {
    super(message)
  }
}

/** What the deploy tells the operator when it cannot go on: `fix` names the next step. */
export class DeployError extends Error {
  constructor(
    message: string,
    readonly fix: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

interface Envelope<T> {
  success: boolean
  errors?: Array<{ code: number; message: string }>
  result: T
  result_info?: { page: number; per_page: number; total_count?: number; total_pages?: number }
}

/** Cloudflare's code for "R2 is not enabled on this account". */
const R2_NOT_ENABLED = 10042

export class Cloudflare {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
    readonly accountId: string,
  ) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<Envelope<T>> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'error',
      signal: AbortSignal.timeout(30_000),
    })
    const text = await res.text()
    let env: Envelope<T>
    try {
      env = JSON.parse(text) as Envelope<T>
    } catch {
      throw new ApiError(res.status, [], `${method} ${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`)
    }
    if (!res.ok || !env.success) {
      const errors = env.errors ?? []
      throw new ApiError(res.status, errors.map((e) => e.code), `${method} ${path}: ${errors.map((e) => `${e.message} [code ${e.code}]`).join('; ') || `HTTP ${res.status}`}`)
    }
    return env
  }

  private get acct() {
    return `/accounts/${this.accountId}`
  }

  /** The D1 database named `name`, created when absent. */
  async ensureD1(name: string): Promise<{ id: string; created: boolean }> {
    const id = await this.findD1(name)
    if (id) return { id, created: false }
    const made = await this.call<{ uuid: string }>('POST', `${this.acct}/d1/database`, { name })
    return { id: made.result.uuid, created: true }
  }

  /** The id of the D1 database named `name`, or null; never creates one. */
  async findD1(name: string): Promise<string | null> {
    const found = await this.call<Array<{ uuid: string; name: string }>>('GET', `${this.acct}/d1/database?name=${encodeURIComponent(name)}&per_page=100`)
    return found.result.find((d) => d.name === name)?.uuid ?? null
  }

  /** The rows of one read-only query on a D1 database. */
  async d1Rows<T>(id: string, sql: string): Promise<T[]> {
    const res = await this.call<Array<{ results: T[] }>>('POST', `${this.acct}/d1/database/${id}/query`, { sql })
    return res.result[0]?.results ?? []
  }

  /** The KV namespace titled `title`, created when absent (titles are unique per account). */
  async ensureKv(title: string): Promise<{ id: string; created: boolean }> {
    for (let page = 1; page <= 100; page++) {
      const res = await this.call<Array<{ id: string; title: string }>>('GET', `${this.acct}/storage/kv/namespaces?per_page=100&page=${page}`)
      const hit = res.result.find((n) => n.title === title)
      if (hit) return { id: hit.id, created: false }
      if (res.result.length < 100) break
    }
    const made = await this.call<{ id: string }>('POST', `${this.acct}/storage/kv/namespaces`, { title })
    return { id: made.result.id, created: true }
  }

  /** The R2 bucket `name`, created when absent; an account without R2 gets the fix named. */
  async ensureR2(name: string): Promise<{ created: boolean }> {
    try {
      const res = await this.call<{ buckets: Array<{ name: string }> }>('GET', `${this.acct}/r2/buckets?name_contains=${encodeURIComponent(name)}&per_page=1000`)
      if (res.result.buckets.some((b) => b.name === name)) return { created: false }
      await this.call('POST', `${this.acct}/r2/buckets`, { name })
      return { created: true }
    } catch (e) {
      if (e instanceof ApiError && e.codes.includes(R2_NOT_ENABLED)) {
        throw new DeployError(
          `R2 is not enabled on this Cloudflare account, so the blob bucket "${name}" cannot be created.`,
          'Enable R2 once in the dashboard (R2 Object Storage → Purchase R2 / Enable; the free tier needs no payment beyond a card on file), then run `npm run deploy` again: it resumes where it stopped.',
          { cause: e },
        )
      }
      throw e
    }
  }

  /** Names of the secrets a Worker has; none when the Worker does not exist yet. */
  async secretNames(script: string): Promise<string[]> {
    try {
      const res = await this.call<Array<{ name: string }>>('GET', `${this.acct}/workers/scripts/${script}/secrets`)
      return res.result.map((s) => s.name)
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return []
      throw e
    }
  }

  /**
   * The index shard count the live Worker runs with (its INDEX_SHARDS var; none means 1, as every
   * relay deployed before sharding), or null when no such Worker exists yet.
   */
  async liveIndexShards(script: string): Promise<number | null> {
    let bindings: Array<{ type?: string; name?: string; text?: unknown }>
    try {
      bindings = (await this.call<{ bindings?: typeof bindings }>('GET', `${this.acct}/workers/scripts/${script}/settings`)).result.bindings ?? []
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.codes.includes(10007))) return null
      throw e
    }
    const v = bindings.find((b) => b.name === 'INDEX_SHARDS' && b.type === 'plain_text')
    return v === undefined ? 1 : Number(v.text)
  }

  /**
   * Sets the cron schedule straight through the API, only when it differs. `wrangler deploy` sets
   * it after the workers.dev route, so an account without a subdomain never got its cron.
   */
  async ensureSchedules(script: string, crons: string[]): Promise<boolean> {
    const res = await this.call<{ schedules: Array<{ cron: string }> }>('GET', `${this.acct}/workers/scripts/${script}/schedules`)
    const have = res.result.schedules.map((s) => s.cron).sort()
    if (JSON.stringify(have) === JSON.stringify([...crons].sort())) return false
    await this.call('PUT', `${this.acct}/workers/scripts/${script}/schedules`, crons.map((cron) => ({ cron })))
    return true
  }

  /** The account's workers.dev subdomain, or null when it never registered one. */
  async workersSubdomain(): Promise<string | null> {
    try {
      return (await this.call<{ subdomain: string }>('GET', `${this.acct}/workers/subdomain`)).result.subdomain || null
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.codes.includes(10007))) return null
      throw e
    }
  }

  /** Serves the Worker on workers.dev, only when it is not already. */
  async ensureWorkersDev(script: string): Promise<boolean> {
    const res = await this.call<{ enabled: boolean }>('GET', `${this.acct}/workers/scripts/${script}/subdomain`)
    if (res.result.enabled) return false
    await this.call('POST', `${this.acct}/workers/scripts/${script}/subdomain`, { enabled: true, previews_enabled: false })
    return true
  }
}
