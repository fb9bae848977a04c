import { z } from 'zod'
import type { IdentityOptions } from './identity/index.ts'
import { checkPublicUrl } from './net/index.ts'
import { ensurePolicy, PolicyError, type Policy } from './policy/index.ts'
import { checkIndexShards } from './store/shards.ts'
import { decodeBase64url, isDidKey, LIMITS } from './verify/index.ts'

/**
 * Secrets are not in wrangler.toml (and so not in the generated `Env`): set them with
 * `wrangler secret put ADMIN_TOKEN`, or in `.dev.vars` locally.
 */
export interface Secrets {
  /** Bearer token for /v1/admin/*; admin endpoints are off when unset. */
  ADMIN_TOKEN?: string
  /**
   * The relay's own Ed25519 key: a 32-byte seed in base64url. It signs the relay's requests to its
   * peers (RFC 9421) and names the relay (`key` in /.well-known/vouch). `npm start` makes one in
   * `.dev.vars`; `npm run deploy` sets one on first deploy. Without it the relay is anonymous to
   * its peers.
   */
  RELAY_KEY?: string
}

/**
 * Optional configuration (wrangler.toml [vars] or `--var`). `wrangler types` gives these literal
 * types from wrangler.toml's defaults; an operator may set any string, so they are typed as such
 * and only ever read through `configOf`.
 */
export interface Options {
  MAX_FUTURE_SKEW_MS?: string
  PEERS?: string
  RELAY_URL?: string
  ALLOW_PRIVATE_PEERS?: string
  PEER_TIMEOUT_MS?: string
  BLOB_MAX_BYTES?: string
  UPSTREAM_CACHES?: string
  PULL_PEERS?: string
  PUSH_PEERS?: string
  ADMISSION?: string
  OPERATOR_KEYS?: string
  ADMIT_DEPTH?: string
  QUOTA_STATEMENTS_PER_DAY?: string
  QUOTA_BLOB_BYTES_PER_DAY?: string
  PEER_STATEMENTS_PER_DAY?: string
  CPU_BUDGET_MS?: string
  EXPLORER_POLICY?: string
  ALIAS_PROOF_BASES?: string
  WITNESS?: string
}

/** The Worker's bindings as they arrive: storage bindings plus the raw text of every setting. */
export type RelayEnv = Omit<Env, keyof Options> & Secrets & Options

/** The relay's settings, parsed and checked: the only form the rest of the relay reads them in. */
export interface RelayConfig {
  /** Statements dated further than this into the future are refused (MAX_FUTURE_SKEW_MS). */
  futureSkewMs: number
  /** Configured peers in normal form (PEERS); more may be added at /v1/admin/peers. */
  peers: readonly string[]
  /** This relay's public base URL in normal form (RELAY_URL), when configured. */
  relayUrl: string | undefined
  /** Peers and caches may be on loopback and private addresses (ALLOW_PRIVATE_PEERS). */
  allowPrivatePeers: boolean
  /** Timeout of each request to a peer or cache, in ms (PEER_TIMEOUT_MS). */
  peerTimeoutMs: number
  /** Largest blob accepted or pulled through, in bytes (BLOB_MAX_BYTES). */
  blobMaxBytes: number
  /** Extra caches serving /v1/blobs/<hash>, in normal form (UPSTREAM_CACHES). */
  upstreamCaches: readonly string[]
  /** Operator token (ADMIN_TOKEN secret); undefined turns the admin endpoints off. */
  adminToken: string | undefined
  /** Peers only pulled from (PULL_PEERS) and only pushed to (PUSH_PEERS); PEERS are both. */
  pullOnlyPeers: readonly string[]
  pushOnlyPeers: readonly string[]
  /** Who may write (ADMISSION): anyone within quotas, keys admitted from the operator's, or only the operator's keys and peers. */
  admission: Admission
  /** The operator's keys (OPERATOR_KEYS): the roots of admission; always admitted. */
  operatorKeys: readonly string[]
  /** How many `admit` grants deep admission reaches from the operator's keys (ADMIT_DEPTH). */
  admitDepth: number
  /** Statements one actor may add per UTC day (QUOTA_STATEMENTS_PER_DAY). */
  quotaStatementsPerDay: number
  /** Blob bytes one actor's statements may admit per UTC day (QUOTA_BLOB_BYTES_PER_DAY). */
  quotaBlobBytesPerDay: number
  /** Statements one configured peer may bring per UTC day, whoever signed them (PEER_STATEMENTS_PER_DAY). */
  peerStatementsPerDay: number
  /** The relay's key pair seed (RELAY_KEY secret), when set. */
  relayKey: Uint8Array | undefined
  /** CPU ms one request may use on the relay's plan (CPU_BUDGET_MS): 10 on Workers Free, 30000 by default on Paid. */
  cpuBudgetMs: number
  /** Statements per POST and ids or bodies per page this relay serves: `capsFor(cpuBudgetMs)`, advertised as `batchItems` and `pageMax`. */
  batchItems: number
  pageMax: number
  /**
   * The policy the explorer marks versions "trusted" by and the trust view starts from
   * (EXPLORER_POLICY, docs/POLICY.md); by default `{ version: 1, trust: { keys: OPERATOR_KEYS } }`,
   * the relay's admission roots.
   */
  explorerPolicy: Policy
  /** Where alias proofs are fetched from (ALIAS_PROOF_BASES): the public services unless set. */
  aliasProofBases: AliasProofBases
  /** Whether this relay cosigns its peers' log checkpoints as a tlog-witness (WITNESS, "on" by default; needs RELAY_KEY). */
  witness: boolean
}

/** The identity options an operator may point elsewhere (a mirror, or loopback stand-ins in tests). */
export type AliasProofBases = Pick<IdentityOptions, 'dohResolver' | 'githubBase' | 'sourcehutBase' | 'bskyBase' | 'forgejoBases' | 'allowPrivate'>

export type Admission = 'open' | 'trusted' | 'closed'

/**
 * A setting that cannot be used. It names the variable and the rule, never the value: the value
 * may be a secret, and the error is shown to anyone who sends a request.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(
    readonly variable: string,
    readonly rule: string,
  ) {
    super(`${variable} ${rule}`)
  }
}

/** Peer URLs are compared in one normal form: origin plus path, without a trailing slash. */
export function normalizePeerUrl(url: string, allowPrivate: boolean): string {
  const u = checkPublicUrl(url, allowPrivate)
  if (u.search || u.hash) throw new TypeError(`a peer URL has no query or fragment: ${url}`)
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`
}

/**
 * Runtime CPU per statement on ingest, in ms, with headroom: docs/PERFORMANCE.md measures 0.22 ms
 * at batch 1000 (workerd, local D1 in the same process, so production spends less), and a fixed
 * ~1–2 ms per request on top, which is what the half of the budget left over is for.
 */
export const CPU_MS_PER_STATEMENT = 0.25
/** The share of the budget a request may plan to spend on statements. */
const BUDGET_SHARE = 0.5
/** Below this a batch is not worth a round trip; a relay with a smaller budget is not supported. */
const MIN_ITEMS = 10

/** Statements one request may ingest within the budget: floor(budget × 0.5 / 0.25 ms). */
export const statementsWithin = (cpuBudgetMs: number) => Math.floor((cpuBudgetMs * BUDGET_SHARE) / CPU_MS_PER_STATEMENT)

/**
 * The relay's caps derived from its CPU budget: how many statements one request may carry
 * (POST batch, gossip push) and how many ids or bodies one page may hold (feed, lookup, and so the
 * pages its peers pull). Serving a page costs less than ingesting one; the puller ingests what it
 * pulls with its own budget, so one figure serves both. The protocol maxima (`LIMITS`) bound them:
 * 10 ms (Workers Free) gives 20, 30 s (Paid) gives 1000.
 */
export function capsFor(cpuBudgetMs: number): { batchItems: number; pageMax: number } {
  const n = statementsWithin(cpuBudgetMs)
  const clamp = (max: number) => Math.max(MIN_ITEMS, Math.min(max, n))
  return { batchItems: clamp(LIMITS.batchItems), pageMax: clamp(LIMITS.pageMax) }
}

/** Unset and "" (wrangler.toml's way of saying "none") both mean the default. */
const unset = (v: string | undefined) => v === undefined || v.trim() === ''

/** Whole decimal numbers only: `Number("")` is 0 and `Number("1e3")` is 1000, neither meant. */
const integer = (min: number, max: number, def: number, rule: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (unset(v)) return def
      const t = v!.trim()
      const n = /^[0-9]+$/.test(t) ? Number(t) : NaN
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: rule })
        return z.NEVER
      }
      return n
    })

const urlList = (rule: string) =>
  z
    .string()
    .optional()
    .transform((v) => (unset(v) ? [] : v!.split(/[\s,]+/).filter(Boolean)))
    .pipe(z.array(z.string()).max(100, `${rule} (at most 100)`))

const BOOLEAN_RULE = 'must be "true" or "false"'
const PEER_RULE = 'must list http(s) base URLs (separated by spaces or commas) without credentials, query or fragment, on public addresses unless ALLOW_PRIVATE_PEERS is "true"'

const Schema = z.object({
  MAX_FUTURE_SKEW_MS: integer(0, 86_400_000, LIMITS.futureSkewMs, 'must be a whole number of milliseconds from 0 to 86400000 (one day)'),
  PEERS: urlList(PEER_RULE),
  RELAY_URL: z.string().optional(),
  ALLOW_PRIVATE_PEERS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (unset(v) || v!.trim() === 'false') return false
      if (v!.trim() === 'true') return true
      ctx.addIssue({ code: 'custom', message: BOOLEAN_RULE })
      return z.NEVER
    }),
  PEER_TIMEOUT_MS: integer(1, 60_000, 10_000, 'must be a whole number of milliseconds from 1 to 60000'),
  // Workers accept request bodies up to 100 MB on most plans, 500 MB at most on any.
  BLOB_MAX_BYTES: integer(1, 500 * 1024 * 1024, 100 * 1024 * 1024, 'must be a whole number of bytes from 1 to 524288000'),
  UPSTREAM_CACHES: urlList(PEER_RULE),
  PULL_PEERS: urlList(PEER_RULE),
  PUSH_PEERS: urlList(PEER_RULE),
  ADMISSION: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const t = unset(v) ? 'open' : v!.trim()
      if (t === 'open' || t === 'trusted' || t === 'closed') return t as Admission
      ctx.addIssue({ code: 'custom', message: 'must be "open", "trusted" or "closed"' })
      return z.NEVER
    }),
  OPERATOR_KEYS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const keys = unset(v) ? [] : v!.split(/[\s,]+/).filter(Boolean)
      if (keys.length > 100 || !keys.every(isDidKey)) {
        ctx.addIssue({ code: 'custom', message: 'must list at most 100 did:key identifiers (separated by spaces or commas)' })
        return z.NEVER
      }
      return [...new Set(keys)]
    }),
  ADMIT_DEPTH: integer(0, 8, 2, 'must be a whole number from 0 to 8'),
  QUOTA_STATEMENTS_PER_DAY: integer(0, 100_000_000, 10_000, 'must be a whole number from 0 to 100000000'),
  QUOTA_BLOB_BYTES_PER_DAY: integer(0, Number.MAX_SAFE_INTEGER, 1024 * 1024 * 1024, 'must be a whole number of bytes'),
  PEER_STATEMENTS_PER_DAY: integer(0, 1_000_000_000, 10_000_000, 'must be a whole number from 0 to 1000000000'),
  // Workers Paid lets an operator raise the limit to 5 minutes of CPU per request.
  CPU_BUDGET_MS: integer(1, 300_000, 30_000, 'must be a whole number of milliseconds from 1 to 300000'),
  EXPLORER_POLICY: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (unset(v)) return undefined
      try {
        return ensurePolicy(JSON.parse(v!))
      } catch (e) {
        if (!(e instanceof SyntaxError || e instanceof PolicyError)) throw e
        ctx.addIssue({ code: 'custom', message: `must be a policy (docs/POLICY.md) as JSON: ${e instanceof PolicyError ? e.message : 'not JSON'}` })
        return z.NEVER
      }
    }),
  ALIAS_PROOF_BASES: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (unset(v)) return {}
      const rule = 'must be a JSON object with any of dohResolver, githubBase, sourcehutBase, bskyBase (URLs) and forgejoBases (host to URL)'
      let o: unknown
      try {
        o = JSON.parse(v!)
      } catch {
        o = undefined
      }
      const shape = z.strictObject({ dohResolver: z.string(), githubBase: z.string(), sourcehutBase: z.string(), bskyBase: z.string(), forgejoBases: z.record(z.string(), z.string()) }).partial()
      const r = shape.safeParse(o)
      if (!r.success) {
        ctx.addIssue({ code: 'custom', message: rule })
        return z.NEVER
      }
      return r.data
    }),
  WITNESS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const t = unset(v) ? 'on' : v!.trim()
      if (t === 'on' || t === 'off') return t === 'on'
      ctx.addIssue({ code: 'custom', message: 'must be "on" or "off"' })
      return z.NEVER
    }),
  RELAY_KEY: z
    .string()
    .optional()
    .refine((v) => unset(v) || decodeBase64url(v!.trim())?.length === 32, 'must be a 32-byte Ed25519 seed in base64url'),
  ADMIN_TOKEN: z
    .string()
    .optional()
    // A token shorter than 16 characters can be guessed; one with spaces or controls cannot be sent.
    .refine((v) => v === undefined || v === '' || /^[\x21-\x7e]{16,1024}$/.test(v), 'must be 16 to 1024 printable ASCII characters without spaces'),
})

/** Parses every setting; throws a `ConfigError` for the first one that is unusable. */
export function parseConfig(env: Options & Secrets): RelayConfig {
  // Only the variables we know are read: a binding object may hold anything else. wrangler.toml
  // may write a setting unquoted (`PEER_TIMEOUT_MS = 5000`), which arrives as a number or boolean:
  // its decimal text goes through the same rules (so 1.5 and 1e21 are still refused).
  const raw = Object.fromEntries(
    Object.keys(Schema.shape).map((k) => {
      const v = (env as Record<string, unknown>)[k]
      return [k, typeof v === 'number' || typeof v === 'boolean' ? String(v) : v]
    }),
  )
  const r = Schema.safeParse(raw)
  if (!r.success) {
    const issue = r.error.issues[0]!
    const variable = String(issue.path[0] ?? 'configuration')
    // zod's own messages can quote what it received; ours never do.
    throw new ConfigError(variable, issue.code === 'custom' || issue.code === 'too_big' ? issue.message : 'must be text')
  }
  const v = r.data
  const allowPrivate = v.ALLOW_PRIVATE_PEERS
  const urls = (name: 'PEERS' | 'PULL_PEERS' | 'PUSH_PEERS' | 'UPSTREAM_CACHES', list: string[]) => {
    const out = new Set<string>()
    list.forEach((u, i) => {
      try {
        out.add(normalizePeerUrl(u, allowPrivate))
      } catch {
        throw new ConfigError(name, `${PEER_RULE} (entry ${i + 1} is not)`)
      }
    })
    return [...out]
  }
  let relayUrl: string | undefined
  if (!unset(v.RELAY_URL)) {
    try {
      // Our own address may be private (a relay inside a network); it is never fetched by us.
      relayUrl = normalizePeerUrl(v.RELAY_URL!.trim(), true)
    } catch {
      throw new ConfigError('RELAY_URL', 'must be an http(s) base URL without credentials, query or fragment')
    }
  }
  if (v.ADMISSION !== 'open' && v.OPERATOR_KEYS.length === 0) {
    throw new ConfigError('OPERATOR_KEYS', `must name at least one did:key when ADMISSION is "${v.ADMISSION}"`)
  }
  // INDEX_SHARDS and its bindings (the store binds the shards per request: src/store/shards.ts).
  checkIndexShards(env, (variable, rule) => new ConfigError(variable, rule))
  return {
    futureSkewMs: v.MAX_FUTURE_SKEW_MS,
    peers: urls('PEERS', v.PEERS),
    relayUrl,
    allowPrivatePeers: allowPrivate,
    peerTimeoutMs: v.PEER_TIMEOUT_MS,
    blobMaxBytes: v.BLOB_MAX_BYTES,
    upstreamCaches: urls('UPSTREAM_CACHES', v.UPSTREAM_CACHES),
    adminToken: v.ADMIN_TOKEN || undefined,
    pullOnlyPeers: urls('PULL_PEERS', v.PULL_PEERS),
    pushOnlyPeers: urls('PUSH_PEERS', v.PUSH_PEERS),
    admission: v.ADMISSION,
    operatorKeys: v.OPERATOR_KEYS,
    admitDepth: v.ADMIT_DEPTH,
    quotaStatementsPerDay: v.QUOTA_STATEMENTS_PER_DAY,
    quotaBlobBytesPerDay: v.QUOTA_BLOB_BYTES_PER_DAY,
    peerStatementsPerDay: v.PEER_STATEMENTS_PER_DAY,
    relayKey: unset(v.RELAY_KEY) ? undefined : decodeBase64url(v.RELAY_KEY!.trim()),
    cpuBudgetMs: v.CPU_BUDGET_MS,
    ...capsFor(v.CPU_BUDGET_MS),
    explorerPolicy: v.EXPLORER_POLICY ?? ensurePolicy({ version: 1, trust: { keys: [...v.OPERATOR_KEYS] } }),
    aliasProofBases: aliasBases(v.ALIAS_PROOF_BASES, allowPrivate),
    witness: v.WITNESS,
  }
}

/**
 * The bases, each checked as a request URL now (so a bad one is a configuration error, not a
 * failed proof later). Loopback and private hosts only with ALLOW_PRIVATE_PEERS, as for peers:
 * otherwise an alias someone published could make this relay probe its own network.
 */
function aliasBases(b: Omit<AliasProofBases, 'allowPrivate'>, allowPrivate: boolean): AliasProofBases {
  const check = (name: string, url: string) => {
    try {
      checkPublicUrl(url, allowPrivate)
    } catch {
      throw new ConfigError('ALIAS_PROOF_BASES', `${name} must be an http(s) URL on a public address unless ALLOW_PRIVATE_PEERS is "true"`)
    }
  }
  for (const k of ['dohResolver', 'githubBase', 'sourcehutBase', 'bskyBase'] as const) if (b[k] !== undefined) check(k, b[k])
  for (const [host, url] of Object.entries(b.forgejoBases ?? {})) check(`forgejoBases.${host}`, url)
  return { ...b, ...(allowPrivate && Object.keys(b).length > 0 ? { allowPrivate: true } : {}) }
}

/** Keyed by the bindings object: the runtime hands every request of an isolate the same one. */
const cache = new WeakMap<object, RelayConfig | ConfigError>()

/**
 * The relay's configuration for these bindings, parsed once and remembered (a failure too, so a
 * bad setting costs one parse, not one per request). Throws the `ConfigError` of a bad setting.
 */
export function configOf(env: RelayEnv): RelayConfig {
  let c = cache.get(env)
  if (!c) {
    try {
      c = parseConfig(env)
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e
      // Logged once per isolate, not once per refused request.
      console.error(`bad configuration: ${e.message}`)
      c = e
    }
    cache.set(env, c)
  }
  if (c instanceof ConfigError) throw c
  return c
}
