/**
 * A local stand-in for the part of the Cloudflare API that `npm run deploy` (and the wrangler
 * commands it runs) uses. It keeps real state (D1 databases are real SQLite through sql.js, so a
 * migration either produces the schema or fails as it would), records every call in order, and
 * answers any route it does not know with a 404 naming the path, so a new wrangler that calls
 * something else fails loudly instead of passing on a guess.
 *
 * Response shapes follow the API's envelope `{ success, errors, messages, result }`.
 */
import { createHash, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import initSqlJs, { type Database } from 'sql.js'

export interface Call {
  method: string
  path: string
  /** The parsed JSON body, or for multipart uploads the `metadata` part; never secret values. */
  body?: unknown
  status: number
  /** True when no route matched: a call this stand-in does not know yet. */
  unknown?: boolean
}

export interface Version {
  id: string
  number: number
  bindings: Array<Record<string, unknown>>
  /** Secret names only: the stand-in keeps no secret value where a test could print it. */
  secretNames: string[]
}

/** A fault fires on the next `times` calls whose route key matches (e.g. `POST r2/buckets`). */
export interface Fault {
  route: string
  times: number
  status: number
  code: number
  message: string
}

export interface Script {
  versions: Version[]
  deployments: Array<{ id: string; versionId: string }>
  schedules: string[]
  secrets: Set<string>
  /** SHA-256 (hex) of each secret's value: enough to tell whether output leaked it, and not the value. */
  secretDigests: Map<string, string>
  workersDev: boolean
}

export interface StandIn {
  /** e.g. http://127.0.0.1:PORT/client/v4, for CLOUDFLARE_API_BASE_URL */
  baseUrl: string
  /** http://127.0.0.1:PORT, which also answers /.well-known/vouch as a deployed relay would */
  origin: string
  accountId: string
  token: string
  calls: Call[]
  d1: Map<string, { uuid: string; name: string; db: Database }>
  kv: Array<{ id: string; title: string }>
  r2: Array<{ name: string; creation_date: string }>
  scripts: Map<string, Script>
  /** The account's workers.dev subdomain; null as on an account that never registered one. */
  subdomain: string | null
  faults: Fault[]
  close(): Promise<void>
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}
const ok = (result: unknown, extra: Record<string, unknown> = {}) => ({ success: true, errors: [], messages: [], result, ...extra })
const fail = (code: number, message: string) => ({ success: false, errors: [{ code, message }], messages: [], result: null })

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Rows of every result set of `sql`, as D1's HTTP API returns them (one entry per statement that yields rows). */
function runSql(db: Database, sql: string, params: unknown[] = []) {
  const sets = db.exec(sql, params as never)
  const toRows = (s: { columns: string[]; values: unknown[][] }) =>
    s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]])))
  const meta = { changes: db.getRowsModified(), duration: 0.1, rows_read: 0, rows_written: db.getRowsModified() }
  if (sets.length === 0) return [{ results: [], success: true, meta }]
  return sets.map((s) => ({ results: toRows(s), success: true, meta }))
}

export async function startStandIn(opts: { subdomain?: string | null } = {}): Promise<StandIn> {
  const SQL = await initSqlJs()
  const accountId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
  const token = 'stand-in-token'
  const state = {
    calls: [] as Call[],
    d1: new Map<string, { uuid: string; name: string; db: Database }>(),
    kv: [] as Array<{ id: string; title: string }>,
    r2: [] as Array<{ name: string; creation_date: string }>,
    scripts: new Map<string, Script>(),
    subdomain: opts.subdomain === undefined ? 'example' : opts.subdomain,
    faults: [] as Fault[],
  }
  const script = (name: string) => {
    let s = state.scripts.get(name)
    if (!s) state.scripts.set(name, (s = { versions: [], deployments: [], schedules: [], secrets: new Set(), secretDigests: new Map(), workersDev: false }))
    return s
  }
  const d1ById = (id: string) => [...state.d1.values()].find((d) => d.uuid === id)

  type Handler = (m: RegExpMatchArray, body: Buffer, req: IncomingMessage, url: URL) => Promise<[number, unknown, unknown?]> | [number, unknown, unknown?]
  const A = `/client/v4/accounts/${accountId}`
  const routes: Array<[string, RegExp, string, Handler]> = [
    ['GET', /^\/client\/v4\/accounts$/, 'accounts', () => [200, ok([{ id: accountId, name: 'Stand-in account' }])]],
    ['GET', /^\/client\/v4\/memberships$/, 'memberships', () => [200, ok([{ id: 'm1', account: { id: accountId, name: 'Stand-in account' } }])]],
    ['GET', /^\/client\/v4\/user$/, 'user', () => [200, ok({ id: 'u1', email: 'operator@example.org' })]],
    ['GET', new RegExp(`^${A}/d1/database$`), 'd1/list', (_m, _b, _r, url) => {
      const name = url.searchParams.get('name')
      const all = [...state.d1.values()].filter((d) => !name || d.name === name)
      return [200, ok(all.map((d) => ({ uuid: d.uuid, name: d.name, version: 'production', created_at: '2026-11-30T00:00:00Z' })), { result_info: { page: 1, per_page: 1000, count: all.length, total_count: all.length } })]
    }],
    ['POST', new RegExp(`^${A}/d1/database$`), 'd1/create', (_m, body) => {
      const { name } = JSON.parse(body.toString()) as { name: string }
      if (state.d1.has(name)) return [400, fail(7502, `A database with that name already exists`)]
      const d = { uuid: randomUUID(), name, db: new SQL.Database() }
      state.d1.set(name, d)
      return [200, ok({ uuid: d.uuid, name, version: 'production', created_at: '2026-11-30T00:00:00Z' })]
    }],
    ['GET', new RegExp(`^${A}/d1/database/([^/]+)$`), 'd1/get', (m) => {
      const d = d1ById(m[1]!) ?? state.d1.get(m[1]!)
      return d ? [200, ok({ uuid: d.uuid, name: d.name, version: 'production', num_tables: 0, file_size: 0 })] : [404, fail(7404, 'The database could not be found')]
    }],
    ['POST', new RegExp(`^${A}/d1/database/([^/]+)/(query|raw)$`), 'd1/query', (m, body) => {
      const d = d1ById(m[1]!)
      if (!d) return [404, fail(7404, 'The database could not be found')]
      const q = JSON.parse(body.toString()) as { sql: string; params?: unknown[] }
      try {
        return [200, ok(runSql(d.db, q.sql, q.params))]
      } catch (e) {
        return [400, fail(7500, `${(e as Error).message}: SQLITE_ERROR`)]
      }
    }],
    ['GET', new RegExp(`^${A}/storage/kv/namespaces$`), 'kv/list', (_m, _b, _r, url) => {
      const page = Number(url.searchParams.get('page') ?? 1)
      const per = Number(url.searchParams.get('per_page') ?? 20)
      const slice = state.kv.slice((page - 1) * per, page * per)
      return [200, ok(slice, { result_info: { page, per_page: per, count: slice.length, total_count: state.kv.length } })]
    }],
    ['POST', new RegExp(`^${A}/storage/kv/namespaces$`), 'kv/create', (_m, body) => {
      const { title } = JSON.parse(body.toString()) as { title: string }
      if (state.kv.some((n) => n.title === title)) return [400, fail(10014, 'a namespace with this account ID and title already exists')]
      const n = { id: randomUUID().replaceAll('-', ''), title }
      state.kv.push(n)
      return [200, ok(n)]
    }],
    ['GET', new RegExp(`^${A}/r2/buckets$`), 'r2/list', () => [200, ok({ buckets: state.r2 })]],
    ['GET', new RegExp(`^${A}/r2/buckets/([^/]+)$`), 'r2/get', (m) => {
      const b = state.r2.find((x) => x.name === m[1])
      return b ? [200, ok({ ...b, location: 'weur' })] : [404, fail(10006, 'The specified bucket does not exist.')]
    }],
    ['POST', new RegExp(`^${A}/r2/buckets$`), 'r2/create', (_m, body) => {
      const { name } = JSON.parse(body.toString()) as { name: string }
      if (state.r2.some((b) => b.name === name)) return [409, fail(10004, 'The bucket you tried to create already exists, and you own it.')]
      const b = { name, creation_date: new Date().toISOString() }
      state.r2.push(b)
      return [200, ok(b)]
    }],
    ['GET', new RegExp(`^${A}/workers/services/([^/]+)$`), 'service', (m) => {
      const s = state.scripts.get(m[1]!)
      if (!s) return [404, fail(10007, 'workers.api.error.script_not_found')]
      return [200, ok({ id: m[1], default_environment: { environment: 'production', script: { id: m[1], tag: `tag-${m[1]}`, tags: [], last_deployed_from: 'wrangler' } } })]
    }],
    ['GET', new RegExp(`^${A}/workers/scripts/([^/]+)/settings$`), 'script/settings', (m) => {
      const s = state.scripts.get(m[1]!)
      if (!s) return [404, fail(10007, 'workers.api.error.script_not_found')]
      // The settings of the version taking traffic, not of one uploaded and never deployed.
      const live = s.versions.find((v) => v.id === s.deployments.at(-1)?.versionId) ?? s.versions.at(-1)
      return [200, ok({ bindings: live?.bindings ?? [], logpush: false, tail_consumers: null })]
    }],
    ['GET', new RegExp(`^${A}/workers/subdomain$`), 'subdomain', () =>
      state.subdomain ? [200, ok({ subdomain: state.subdomain })] : [404, fail(10007, 'This account does not have a workers.dev subdomain')]],
    ['GET', new RegExp(`^${A}/workers/scripts/([^/]+)/subdomain$`), 'script/subdomain/get', (m) =>
      state.scripts.has(m[1]!) ? [200, ok({ enabled: script(m[1]!).workersDev, previews_enabled: false })] : [404, fail(10007, 'workers.api.error.script_not_found')]],
    ['POST', new RegExp(`^${A}/workers/scripts/([^/]+)/subdomain$`), 'script/subdomain/set', (m, body) => {
      if (!state.scripts.has(m[1]!)) return [404, fail(10007, 'workers.api.error.script_not_found')]
      if (!state.subdomain) return [400, fail(10007, 'This account does not have a workers.dev subdomain')]
      script(m[1]!).workersDev = (JSON.parse(body.toString()) as { enabled: boolean }).enabled
      return [200, ok({ enabled: script(m[1]!).workersDev, previews_enabled: false })]
    }],
    ['GET', new RegExp(`^${A}/workers/scripts/([^/]+)/schedules$`), 'schedules/get', (m) =>
      state.scripts.has(m[1]!) ? [200, ok({ schedules: script(m[1]!).schedules.map((cron) => ({ cron })) })] : [404, fail(10007, 'workers.api.error.script_not_found')]],
    ['PUT', new RegExp(`^${A}/workers/scripts/([^/]+)/schedules$`), 'schedules/put', (m, body) => {
      if (!state.scripts.has(m[1]!)) return [404, fail(10007, 'workers.api.error.script_not_found')]
      const list = JSON.parse(body.toString()) as Array<{ cron: string }>
      script(m[1]!).schedules = list.map((s) => s.cron)
      return [200, ok({ schedules: list })]
    }],
    ['GET', new RegExp(`^${A}/workers/scripts/([^/]+)/secrets$`), 'secrets/list', (m) =>
      state.scripts.has(m[1]!) ? [200, ok([...script(m[1]!).secrets].map((name) => ({ name, type: 'secret_text' })))] : [404, fail(10007, 'workers.api.error.script_not_found')]],
    ['POST', new RegExp(`^${A}/workers/scripts/([^/]+)/versions$`), 'versions/upload', async (m, body, req) => {
      const form = await new Request('http://x/', { method: 'POST', body, headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData()
      const metadata = JSON.parse(String(form.get('metadata'))) as { bindings?: Array<Record<string, unknown>> }
      const s = script(m[1]!)
      for (const b of metadata.bindings ?? []) if (b.type === 'secret_text') s.secretDigests.set(String(b.name), createHash('sha256').update(String(b.text)).digest('hex'))
      const bindings = (metadata.bindings ?? []).map((b) => (b.type === 'secret_text' ? { ...b, text: '(redacted)' } : b))
      for (const b of bindings) if (b.type === 'secret_text') s.secrets.add(String(b.name))
      const v: Version = { id: randomUUID(), number: s.versions.length + 1, bindings, secretNames: bindings.filter((b) => b.type === 'secret_text').map((b) => String(b.name)) }
      s.versions.push(v)
      return [200, ok({ id: v.id, number: v.number, metadata: { has_preview: false }, resources: { bindings } }), { ...metadata, bindings }]
    }],
    ['GET', new RegExp(`^${A}/workers/scripts/([^/]+)/versions/([^/?]+)$`), 'versions/get', (m) => {
      const v = state.scripts.get(m[1]!)?.versions.find((x) => x.id === m[2])
      return v ? [200, ok({ id: v.id, number: v.number, metadata: { created_on: '2026-11-30T00:00:00Z', source: 'wrangler' }, annotations: {}, resources: { bindings: v.bindings, script: { etag: v.id } } })] : [404, fail(10007, 'version not found')]
    }],
    ['GET', new RegExp(`^${A}/workers/scripts/([^/]+)/versions$`), 'versions/list', (m) => {
      const vs = state.scripts.get(m[1]!)?.versions ?? []
      return [200, ok({ items: [...vs].reverse().map((v) => ({ id: v.id, number: v.number, metadata: { created_on: '2026-11-30T00:00:00Z', source: 'wrangler' }, annotations: {} })) })]
    }],
    ['GET', new RegExp(`^${A}/workers/scripts/([^/]+)/deployments$`), 'deployments/list', (m) => {
      const ds = state.scripts.get(m[1]!)?.deployments ?? []
      return [200, ok({ deployments: [...ds].reverse().map((d) => ({ id: d.id, source: 'wrangler', strategy: 'percentage', created_on: '2026-11-30T00:00:00Z', versions: [{ version_id: d.versionId, percentage: 100 }], annotations: {} })) })]
    }],
    ['POST', new RegExp(`^${A}/workers/scripts/([^/]+)/deployments$`), 'deployments/create', (m, body) => {
      const s = state.scripts.get(m[1]!)
      const req = JSON.parse(body.toString()) as { versions: Array<{ version_id: string; percentage: number }> }
      const versionId = req.versions[0]?.version_id ?? ''
      if (!s?.versions.some((v) => v.id === versionId)) return [400, fail(10007, 'version not found')]
      const d = { id: randomUUID(), versionId }
      s.deployments.push(d)
      return [200, ok({ id: d.id, strategy: 'percentage', versions: req.versions })]
    }],
    ['PATCH', new RegExp(`^${A}/workers/scripts/([^/]+)/script-settings$`), 'script-settings', () => [200, ok({ logpush: false, tail_consumers: null, observability: null })]],
    ['GET', new RegExp(`^${A}/workers/scripts/([^/]+)/script-settings$`), 'script-settings/get', () => [200, ok({ logpush: false, tail_consumers: null, observability: null })]],
  ]

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const body = await readBody(req)
    if (req.method === 'GET' && url.pathname === '/.well-known/vouch') {
      // The deployed relay, as the smoke check sees it.
      return json(res, 200, { protocol: 1, software: 'vouch-relay (stand-in)', relay: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
    }
    if (req.method === 'GET' && url.pathname === '/') {
      // The deployed bridge Worker's status answer, before its first cron run.
      return json(res, 200, { checkpoint: null, lastRun: null })
    }
    const call: Call = { method: req.method ?? 'GET', path: url.pathname + url.search, status: 0 }
    state.calls.push(call)
    if (req.headers.authorization !== `Bearer ${token}`) {
      call.status = 403
      return json(res, 403, fail(10000, 'Authentication error'))
    }
    for (const [method, re, key, handle] of routes) {
      const m = url.pathname.match(re)
      if (!m || method !== req.method) continue
      const fault = state.faults.find((f) => f.route === `${method} ${key}` && f.times > 0)
      if (fault) {
        fault.times--
        call.status = fault.status
        return json(res, fault.status, fail(fault.code, fault.message))
      }
      const [status, out, recorded] = await handle(m, body, req, url)
      call.status = status
      if (recorded !== undefined) call.body = recorded
      else if (body.length && (req.headers['content-type'] ?? '').includes('json')) call.body = JSON.parse(body.toString())
      return json(res, status, out)
    }
    call.status = 404
    call.unknown = true
    json(res, 404, fail(7003, `stand-in: no route for ${req.method} ${url.pathname}`))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return Object.assign(state, {
    baseUrl: `http://127.0.0.1:${port}/client/v4`,
    origin: `http://127.0.0.1:${port}`,
    accountId,
    token,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  })
}
