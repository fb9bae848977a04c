import { createHash, randomBytes } from 'node:crypto'
import { base64url, encodeDidKey } from '../../src/verify/index.ts'

/**
 * A synthetic relay's worth of npm-like statements, generated fast enough to build 1M (or 10M)
 * rows in seconds per million: the canonical bodies have the exact shape and size of signed
 * statements (test/vectors/statements.json), but the signatures are random bytes, NOT valid. The
 * rows go straight into the relay's local D1 file, so nothing verifies them; the benchmark measures
 * storage and reads, and posts separately signed statements to measure ingest.
 *
 * Per package (npm has ~3.5M packages and ~40M versions, so ~12 versions each): one `published`
 * per version by one of three bridge keys (the registry's sha512 integrity), a `source` for 30% of
 * versions (sha256, format tgz), a `build` for 10% of those sources, a `review` for 3% of versions,
 * a deprecation (a second `published` with `deprecated`) for 2%, a retraction for 0.5%, and an
 * `author` grant for 20% of packages from a pool of 50,000 author keys.
 */

export interface Row {
  id: string
  actor: string
  subject: string
  claim: string
  object: string | null
  neg: 0 | 1
  time: number
  body: string
}

/** xorshift32: deterministic names and choices, so two runs build the same shape. */
function rng(seed: number) {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 0x1_0000_0000
  }
}

const WORDS = (
  'react core util parse json stream http fast tiny micro node web data type lint test mock babel plugin loader ' +
  'config cli color string array object async promise event file path glob watch build bundle css style icon ' +
  'date time math crypto hash auth token session cache queue store redis mongo sql graph query schema valid form'
).split(' ')

const sri = (alg: 'sha256' | 'sha512', seed: string) => `${alg}-${createHash(alg).update(seed).digest('base64')}`

/** JCS of a statement whose members are given already in code-point order (all ASCII here). */
function canonical(s: { actor: string; claim: string; meta?: Record<string, string>; not?: boolean; object?: string; sig: string; subject: string; time: number }): string {
  let out = `{"actor":${JSON.stringify(s.actor)},"claim":${JSON.stringify(s.claim)}`
  if (s.meta) out += `,"meta":${JSON.stringify(Object.fromEntries(Object.entries(s.meta).sort(([a], [b]) => (a < b ? -1 : 1))))}`
  if (s.not) out += ',"not":true'
  if (s.object !== undefined) out += `,"object":${JSON.stringify(s.object)}`
  return `${out},"sig":"${s.sig}","subject":${JSON.stringify(s.subject)},"time":${s.time},"v":1}`
}

export interface CorpusKeys {
  bridges: string[]
  builders: string[]
  authors: string[]
}

export function corpusKeys(authors = 50_000): CorpusKeys {
  const did = () => encodeDidKey(randomBytes(32))
  return {
    bridges: Array.from({ length: 3 }, did),
    builders: Array.from({ length: 20 }, did),
    authors: Array.from({ length: authors }, did),
  }
}

/**
 * Yields `count` rows in arrival order. Randomness for signatures comes from one pool refilled
 * per 64 KiB: randomBytes per row would dominate the run time.
 */
export function* corpus(count: number, keys: CorpusKeys, seed = 17): Generator<Row> {
  const r = rng(seed)
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!
  let pool = randomBytes(65_536)
  let at = 0
  const sig = () => {
    if (at + 64 > pool.length) (pool = randomBytes(65_536)), (at = 0)
    return base64url.encode(pool.subarray(at, (at += 64)))
  }
  let time = Date.UTC(2015, 0, 1)
  let made = 0
  const emit = (s: { actor: string; claim: string; meta?: Record<string, string>; not?: boolean; object?: string; subject: string }): Row => {
    time += 1 + Math.floor(r() * 300_000)
    const body = canonical({ ...s, sig: sig(), time })
    made++
    return {
      id: `sha256-${createHash('sha256').update(body).digest('base64')}`,
      actor: s.actor,
      subject: s.subject,
      claim: s.claim,
      object: s.object ?? null,
      neg: s.not ? 1 : 0,
      time,
      body,
    }
  }
  const registry = 'https://registry.npmjs.org'
  for (let p = 0; made < count; p++) {
    const words = 1 + Math.floor(r() * 3)
    let name = Array.from({ length: words }, () => pick(WORDS)).join('-') + `-${p.toString(36)}`
    if (r() < 0.15) name = `@${pick(WORDS)}${Math.floor(r() * 1000)}/${name}`
    const pkg = `pkg:npm/${name.replace('@', '%40')}`
    const bridge = keys.bridges[p % keys.bridges.length]!
    // Geometric number of versions with mean ~12, as npm's versions per package.
    let versions = 1
    while (r() < 11 / 12 && versions < 500) versions++
    if (r() < 0.2 && made < count) yield emit({ actor: bridge, claim: 'author', subject: pick(keys.authors), object: pkg })
    for (let v = 0; v < versions && made < count; v++) {
      const subject = `${pkg}@${Math.floor(v / 20)}.${Math.floor(v / 5) % 4}.${v % 5}`
      const integrity = sri('sha512', subject)
      yield emit({ actor: bridge, claim: 'published', subject, object: integrity, meta: { registry } })
      if (made < count && r() < 0.3) {
        const source = sri('sha256', `${subject} source`)
        yield emit({ actor: pick(keys.builders), claim: 'source', subject, object: source, meta: { format: 'tgz' } })
        if (made < count && r() < 0.1) yield emit({ actor: pick(keys.builders), claim: 'build', subject: source, object: sri('sha256', `${subject} out`), meta: { system: 'x86_64-linux' } })
      }
      if (made < count && r() < 0.03) yield emit({ actor: pick(keys.authors), claim: 'review', subject: integrity, object: r() < 0.9 ? 'pass' : 'concern', meta: { comment: 'Read the diff against the previous version; no install scripts.' } })
      if (made < count && r() < 0.02) yield emit({ actor: bridge, claim: 'published', subject, object: integrity, meta: { deprecated: 'this version is no longer supported, upgrade', registry } })
      if (made < count && r() < 0.005) yield emit({ actor: bridge, claim: 'published', not: true, subject, object: integrity, meta: { reason: 'unpublished', registry } })
    }
  }
}
