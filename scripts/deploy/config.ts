/**
 * The operator's settings (an untracked `relay.config.json`, or `bridge.config.json` for the
 * bridge Worker) and the wrangler config generated from them for one deploy. The tracked `wrangler.toml` stays the project's defaults and is only
 * read: upgrading is a `git pull` with no merge conflict in operator values.
 */
import { readFile } from 'node:fs/promises'
import { dirname, relative, resolve } from 'node:path'
import { parse as parseToml } from 'smol-toml'
import { z } from 'zod'

/** A var's value as an operator writes it; lists become the space-separated strings the relay parses. */
const varValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())])
/** Set by the deploy itself (once, never printed), so never a plain var in a config file. */
const SECRET_NAMES = ['ADMIN_TOKEN', 'RELAY_KEY', 'BRIDGE_KEY']
/** The relay's index shard count bounds (docs/SCALE.md): a power of two, so the hash splits evenly. */
export const MAX_INDEX_SHARDS = 64
/** The var the relay reads K from (src/config.ts); the deploy sets it from `indexShards` only. */
export const INDEX_SHARDS_VAR = 'INDEX_SHARDS'
/** The index databases' migrations (one schema for every shard), beside the primary's `migrations/`. */
export const INDEX_MIGRATIONS_DIR = 'migrations-index'
export const indexBinding = (i: number) => `INDEX_${i}`
const INDEX_BINDING = /^INDEX_(\d+)$/

/** Why `k` is not a shard count, or null when it is one. */
export function indexShardsProblem(k: unknown): string | null {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > MAX_INDEX_SHARDS || (k & (k - 1)) !== 0) {
    return `indexShards must be 1 (one database, the default) or a power of two up to ${MAX_INDEX_SHARDS} (2, 4, 8, 16, 32, 64); got ${JSON.stringify(k)}`
  }
  return null
}

export const RelayConfig = z.strictObject({
  /** The Worker's name; also the prefix of the resources' default names. Default: the tracked config's (vouch-relay, vouch-bridge-npm). */
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes, at most 63').optional(),
  /** Where the Worker answers (e.g. a custom domain), for the smoke check; default RELAY_URL for a relay, else workers.dev. */
  url: z.url({ protocol: /^https?$/ }).optional(),
  /** Otherwise CLOUDFLARE_ACCOUNT_ID, otherwise the token's only account. */
  accountId: z.string().regex(/^[0-9a-f]{32}$/, '32 hex digits').optional(),
  /** Resource names by binding (DB, CACHE, BLOBS, …), to adopt existing ones or share an account. */
  resources: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/), z.string().min(1).max(63)).default({}),
  /**
   * How many D1 databases hold the query index (docs/SCALE.md): 1 keeps everything in DB; K > 1 adds
   * <name>-index-0 … -{K-1}. Fixed for the life of a relay's data: resharding is not built.
   */
  indexShards: z
    .unknown()
    .default(1)
    .superRefine((k, ctx) => {
      const problem = indexShardsProblem(k)
      if (problem) ctx.addIssue({ code: 'custom', message: problem })
    })
    .transform((k) => k as number),
  /** Serve on <name>.<subdomain>.workers.dev (turn off when only a custom domain should answer). */
  workersDev: z.boolean().default(true),
  /** Any relay var, passed through to the Worker as is: names the code does not know yet included. */
  vars: z
    .record(z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'upper-case names like RELAY_URL'), varValue)
    .default({})
    .superRefine((v, ctx) => {
      for (const s of SECRET_NAMES.filter((n) => n in v)) ctx.addIssue({ code: 'custom', message: `${s} is a secret: the deploy sets it once (or from the ${s} environment variable), never from vars` })
      // Two places for K could disagree, and the bindings follow indexShards: one place only.
      if (INDEX_SHARDS_VAR in v) ctx.addIssue({ code: 'custom', message: `${INDEX_SHARDS_VAR} is set from "indexShards" (which also binds the index databases), never from vars` })
    }),
})
export type RelayConfig = z.infer<typeof RelayConfig>

export class ConfigError extends Error {}

/** Reads the operator config; a missing file means all defaults (a first deploy needs none). */
export async function loadRelayConfig(path: string): Promise<{ config: RelayConfig; found: boolean }> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { config: RelayConfig.parse({}), found: false }
    throw e
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    throw new ConfigError(`${path}: not JSON (${(e as Error).message})`)
  }
  const parsed = RelayConfig.safeParse(raw)
  if (!parsed.success) {
    // A bad record key's reason (e.g. "upper-case names") sits one level down in zod's issue.
    const reason = (i: z.core.$ZodIssue) => (i.code === 'invalid_key' ? `${i.message}: ${i.issues.map((n) => n.message).join('; ')}` : i.message)
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(top)'}: ${reason(i)}`)
    throw new ConfigError(`${path} is not a valid relay config:\n${lines.join('\n')}`)
  }
  return { config: parsed.data, found: true }
}

interface Binding {
  binding: string
  [k: string]: unknown
}
type Toml = Record<string, unknown> & {
  main?: string
  vars?: Record<string, unknown>
  d1_databases?: Binding[]
  kv_namespaces?: Binding[]
  r2_buckets?: Binding[]
  triggers?: { crons?: string[] }
}

/** What a deploy provisions: every D1, KV and R2 binding of wrangler.toml, under the operator's names. */
export interface Plan {
  name: string
  d1: Array<{ binding: string; name: string }>
  kv: Array<{ binding: string; title: string }>
  r2: Array<{ binding: string; bucket: string }>
  crons: string[]
  vars: Record<string, string>
  workersDev: boolean
  /** The bindings whose migrations the deploy applies, DB first then INDEX_0 … in order. */
  migrate: string[]
  /** K: how many index databases (INDEX_i) the relay uses; 1 means none beyond DB. */
  indexShards: number
}

export async function readWranglerToml(path: string): Promise<Toml> {
  return parseToml(await readFile(path, 'utf8')) as Toml
}

const defaultName = (worker: string, binding: string) => `${worker}-${binding.toLowerCase().replaceAll('_', '-')}`

export function makePlan(toml: Toml, config: RelayConfig): Plan {
  const name = config.name ?? (typeof toml.name === 'string' ? toml.name : 'vouch-relay')
  const pick = (binding: string) => config.resources[binding] ?? defaultName(name, binding)
  const k = config.indexShards
  // The deploy binds the index databases itself, from indexShards; a hand-made K in the tracked
  // file would escape the shard-count checks.
  const handMade = (toml.d1_databases ?? []).find((b) => INDEX_BINDING.test(b.binding))?.binding ?? (String(toml.vars?.[INDEX_SHARDS_VAR] ?? '1') !== '1' ? `${INDEX_SHARDS_VAR} = ${JSON.stringify(toml.vars?.[INDEX_SHARDS_VAR])}` : undefined)
  if (handMade) throw new ConfigError(`wrangler.toml sets ${handMade}; with \`npm run deploy\` set "indexShards" in the relay config instead, and leave wrangler.toml's index databases commented out`)
  if (k > 1 && !(toml.d1_databases ?? []).some((b) => b.binding === 'DB')) throw new ConfigError(`indexShards is ${k}, but this Worker has no DB to shard (only the relay has an index; leave indexShards out)`)
  const index = Array.from({ length: k > 1 ? k : 0 }, (_, i) => indexBinding(i))
  const known = new Set([...(toml.d1_databases ?? []), ...(toml.kv_namespaces ?? []), ...(toml.r2_buckets ?? [])].map((b) => b.binding).concat(index))
  const stray = Object.keys(config.resources).filter((b) => !known.has(b))
  if (stray.length) {
    const why = stray.some((b) => INDEX_BINDING.test(b)) ? ` (INDEX_i is bound only for i below indexShards, which is ${k})` : ''
    throw new ConfigError(`resources names ${stray.join(', ')}, which wrangler.toml does not bind (it binds ${[...known].join(', ')})${why}`)
  }
  const vars: Record<string, string> = {}
  for (const [k, v] of Object.entries({ ...(toml.vars ?? {}), ...config.vars })) vars[k] = Array.isArray(v) ? v.join(' ') : String(v)
  // At K = 1 the generated config is today's, byte for byte: no new var, no new binding.
  if (k > 1) vars[INDEX_SHARDS_VAR] = String(k)
  const d1 = (toml.d1_databases ?? []).map((b) => ({ binding: b.binding, name: pick(b.binding) }))
  return {
    name,
    d1: [...d1, ...index.map((binding) => ({ binding, name: pick(binding) }))],
    kv: (toml.kv_namespaces ?? []).map((b) => ({ binding: b.binding, title: pick(b.binding) })),
    r2: (toml.r2_buckets ?? []).map((b) => ({ binding: b.binding, bucket: pick(b.binding) })),
    crons: toml.triggers?.crons ?? [],
    vars,
    workersDev: config.workersDev,
    migrate: [...(toml.d1_databases ?? []).filter((b) => b.migrations_dir).map((b) => b.binding), ...index],
    indexShards: k,
  }
}

/**
 * The wrangler config of one deploy: the tracked wrangler.toml with ids filled in, names and vars
 * from the operator, and paths rewritten relative to where the generated file lives.
 */
export function generateWranglerConfig(toml: Toml, plan: Plan, ids: { d1: Record<string, string>; kv: Record<string, string> }, root: string, outFile: string) {
  const rel = (p: string) => relative(dirname(outFile), resolve(root, p))
  const { triggers: _crons, ...rest } = toml
  return {
    ...rest,
    name: plan.name,
    ...(toml.main ? { main: rel(toml.main) } : {}),
    workers_dev: plan.workersDev,
    vars: plan.vars,
    d1_databases: plan.d1.map((d) => {
      // The index databases are not in wrangler.toml: each is DB's sibling with the index schema.
      const b: Binding = (toml.d1_databases ?? []).find((t) => t.binding === d.binding) ?? { binding: d.binding, migrations_dir: INDEX_MIGRATIONS_DIR }
      return {
        ...b,
        database_name: d.name,
        database_id: ids.d1[d.binding],
        ...(typeof b.migrations_dir === 'string' ? { migrations_dir: rel(b.migrations_dir) } : {}),
      }
    }),
    kv_namespaces: (toml.kv_namespaces ?? []).map((b) => ({ ...b, id: ids.kv[b.binding] })),
    r2_buckets: (toml.r2_buckets ?? []).map((b) => ({ ...b, bucket_name: plan.r2.find((r) => r.binding === b.binding)!.bucket })),
  }
}
