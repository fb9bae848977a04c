import { publish, type PublishReport, type Signer } from '../client/index.ts'
import {
  canonicalize,
  formatSri,
  hex,
  looksLikeHash,
  parseJson,
  parseJsonBytes,
  parseSri,
  ProtocolError,
  sha256,
  utf8,
  verifyStatement,
  type Json,
  type JsonObject,
  type Statement,
  type VerifiedStatement,
} from '../verify/index.ts'
import { INTOTO_PAYLOAD_TYPE, parseEnvelope, signEnvelope, verifyEnvelope, type EnvelopeJson, type TrustedKey, type VerifyEnvelopeOptions } from './dsse.ts'
import { BridgeError } from './errors.ts'
import { alreadySaid, priorStatements, signAndPublish, type BridgePublishOptions, type Claim } from './publish.ts'

/**
 * in-toto attestations in and out.
 *
 * Import: a DSSE envelope holding an in-toto Statement v1 is verified with the keys the user
 * names, and the facts in it become claims of the importer's key. SLSA provenance v1 gives one
 * `build` claim per (resolved dependency, subject) pair: "building <dependency digest> produced
 * <subject digest>", with the builder id and the envelope's digest in meta. A Statement whose
 * predicate is a vouch statement (what `vouch export` writes) gives back that statement itself,
 * verified and unchanged.
 *
 * Export: a vouch statement becomes an in-toto Statement v1 (subject the hash the statement is
 * about, predicate the statement) in a DSSE envelope signed by the user's key.
 * docs/BRIDGES.md describes both exactly.
 */

export const STATEMENT_V1 = 'https://in-toto.io/Statement/v1'
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1'
/**
 * The predicate type of an exported vouch statement. A URN because the project has no web
 * address of its own to put here; the predicate is the statement exactly as PROTOCOL.md defines it.
 */
export const VOUCH_PREDICATE_TYPE = 'urn:vouch:statement:v1'

export interface ResourceDescriptor {
  name?: string
  uri?: string
  digest?: Record<string, string>
}

export interface InTotoStatement {
  _type: typeof STATEMENT_V1
  subject: ResourceDescriptor[]
  predicateType: string
  predicate?: JsonObject
}

const isObject = (x: unknown): x is Record<string, Json> => typeof x === 'object' && x !== null && !Array.isArray(x)
const bad = (message: string): never => {
  throw new BridgeError('malformed', 'bad_statement', message)
}

function descriptor(x: Json, where: string): ResourceDescriptor {
  if (!isObject(x)) return bad(`${where} is not an object`)
  const out: ResourceDescriptor = {}
  for (const k of ['name', 'uri'] as const) {
    if (x[k] === undefined) continue
    if (typeof x[k] !== 'string') bad(`${where}.${k} is not a string`)
    out[k] = x[k] as string
  }
  if (x.digest !== undefined) {
    if (!isObject(x.digest)) bad(`${where}.digest is not an object`)
    const digest: Record<string, string> = {}
    for (const [alg, v] of Object.entries(x.digest as Record<string, Json>)) {
      if (typeof v !== 'string') bad(`${where}.digest.${alg} is not a string`)
      digest[alg] = v as string
    }
    out.digest = digest
  }
  return out
}

/**
 * Parses an in-toto Statement v1 from the envelope's payload: strict JSON (no duplicate names,
 * integers only), `_type` exactly `https://in-toto.io/Statement/v1`, a non-empty `subject` list
 * and a `predicateType`. Earlier statement versions are refused by name.
 */
export function parseInTotoStatement(payload: Uint8Array): InTotoStatement {
  let doc: Json
  try {
    doc = parseJsonBytes(payload, { maxDepth: 64 })
  } catch (e) {
    return bad(`the payload is not a strict JSON in-toto Statement (${e instanceof ProtocolError ? `${e.code}: ` : ''}${(e as Error).message})`)
  }
  if (!isObject(doc)) return bad('the payload is not a JSON object')
  if (doc._type !== STATEMENT_V1) {
    throw new BridgeError('unsupported', 'unsupported_statement', `the payload is not an in-toto Statement v1 (_type ${JSON.stringify(doc._type ?? null)}; expected ${STATEMENT_V1})`)
  }
  if (!Array.isArray(doc.subject) || doc.subject.length === 0) bad('subject is missing or empty')
  if (typeof doc.predicateType !== 'string' || doc.predicateType === '') bad('predicateType is missing')
  if (doc.predicate !== undefined && !isObject(doc.predicate)) bad('predicate is not an object')
  return {
    _type: STATEMENT_V1,
    subject: (doc.subject as Json[]).map((s, i) => descriptor(s, `subject[${i}]`)),
    predicateType: doc.predicateType as string,
    ...(doc.predicate !== undefined && { predicate: doc.predicate as JsonObject }),
  }
}

const SRI_FROM_INTOTO = { sha512: 'sha512', sha384: 'sha384', sha256: 'sha256', sha1: 'sha1' } as const

/**
 * The term a vouch statement uses for a digest set: the strongest of sha512, sha384, sha256 as
 * canonical SRI; else sha1 as SRI (weak); else a git commit as `gitCommit:<hex>`. Undefined when
 * none is usable (other algorithms are ignored). Malformed hex is an error, not a skip.
 */
export function digestTerm(digest: Record<string, string> | undefined, where: string): { term: string; weak?: true } | undefined {
  if (!digest) return undefined
  for (const [key, alg] of Object.entries(SRI_FROM_INTOTO)) {
    const v = digest[key]
    if (v === undefined) continue
    const size = { sha512: 64, sha384: 48, sha256: 32, sha1: 20 }[alg]
    if (!new RegExp(`^[0-9a-fA-F]{${size * 2}}$`).test(v)) bad(`${where}.digest.${key} is not ${size * 2} hex digits`)
    return { term: formatSri({ alg, bytes: hex.decode(v.toLowerCase()) }), ...(alg === 'sha1' && { weak: true as const }) }
  }
  const git = digest.gitCommit
  if (git !== undefined) {
    if (!/^([0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/.test(git)) bad(`${where}.digest.gitCommit is not 40 or 64 hex digits`)
    return { term: `gitCommit:${git.toLowerCase()}` }
  }
  return undefined
}

const str = (x: Json | undefined, n = 300) => (typeof x === 'string' && x !== '' ? (x.length <= n ? x : `${x.slice(0, n - 1)}…`) : undefined)

export interface ImportContext {
  /** sha256 of the envelope's bytes as read, SRI. */
  envelope: string
  /** sha256 of the payload (the signed in-toto Statement), SRI. */
  payload: string
}

/**
 * The claims an importer makes for a SLSA provenance v1 Statement. Throws BridgeError when the
 * predicate is not SLSA provenance v1 or yields no claim.
 */
export function provenanceClaims(stmt: InTotoStatement, ctx: ImportContext): Claim[] {
  if (stmt.predicateType !== SLSA_PROVENANCE_V1) {
    throw new BridgeError('unsupported', 'unsupported_predicate', `predicate type ${JSON.stringify(stmt.predicateType)} is not imported (vouch imports ${SLSA_PROVENANCE_V1} and its own ${VOUCH_PREDICATE_TYPE})`)
  }
  const p = stmt.predicate ?? bad('the SLSA provenance has no predicate')
  const def = isObject(p.buildDefinition) ? p.buildDefinition : bad('predicate.buildDefinition is missing')
  const run = isObject(p.runDetails) ? p.runDetails : bad('predicate.runDetails is missing')
  const builder = isObject(run.builder) && typeof run.builder.id === 'string' && run.builder.id !== '' ? run.builder.id : bad('predicate.runDetails.builder.id is missing')
  if (typeof def.buildType !== 'string') bad('predicate.buildDefinition.buildType is missing')
  const deps = def.resolvedDependencies ?? []
  if (!Array.isArray(deps)) return bad('predicate.buildDefinition.resolvedDependencies is not a list')
  const inputs = deps.map((d, i) => ({ d: descriptor(d, `resolvedDependencies[${i}]`), i })).map(({ d, i }) => ({ d, t: digestTerm(d.digest, `resolvedDependencies[${i}]`) }))
  const outputs = stmt.subject.map((d, i) => ({ d, t: digestTerm(d.digest, `subject[${i}]`) }))
  const claims: Claim[] = []
  for (const out of outputs) {
    if (!out.t) continue
    for (const input of inputs) {
      if (!input.t) continue
      const meta: JsonObject = {
        builder: str(builder)!,
        buildType: str(def.buildType)!,
        predicateType: SLSA_PROVENANCE_V1,
        envelope: ctx.envelope,
        payload: ctx.payload,
        ...(str(input.d.uri) !== undefined && { dependency: str(input.d.uri)! }),
        ...(str(out.d.name) !== undefined && { name: str(out.d.name)! }),
        ...((input.t.weak || out.t.weak) && { weak: true }),
      }
      claims.push({ subject: input.t.term, claim: 'build', object: out.t.term, meta })
    }
  }
  if (claims.length === 0) {
    throw new BridgeError('unsupported', 'nothing_to_import', 'the provenance names no resolved dependency and subject with a usable digest (sha256, sha384, sha512, sha1 or gitCommit); nothing to claim')
  }
  return claims
}

/** The hash an exported statement is about (docs/BRIDGES.md): object, else subject, else its id. */
export function exportSubject(v: VerifiedStatement): ResourceDescriptor {
  const s = v.statement
  const digestOf = (term: string) => {
    const d = parseSri(term)!
    return { [d.alg]: hex.encode(d.bytes) }
  }
  if (s.object !== undefined && looksLikeHash(s.object)) return { ...(!looksLikeHash(s.subject) && { name: s.subject }), digest: digestOf(s.object) }
  if (looksLikeHash(s.subject)) return { digest: digestOf(s.subject) }
  return { name: `vouch-statement:${v.id}`, digest: digestOf(v.id) }
}

/** A vouch statement as an in-toto Statement v1 (JCS-serialised, so exporting is deterministic). */
export function toInTotoStatement(v: VerifiedStatement): InTotoStatement {
  return { _type: STATEMENT_V1, subject: [exportSubject(v)], predicateType: VOUCH_PREDICATE_TYPE, predicate: v.statement as unknown as JsonObject }
}

/** Exports a statement as a DSSE envelope signed by `signer` (keyid: its did:key). */
export async function exportEnvelope(v: VerifiedStatement, signer: Signer): Promise<EnvelopeJson> {
  const checked = await verifyStatement(v.statement, { now: Date.now() })
  if (checked.id !== v.id) throw new RangeError(`the statement's id is ${checked.id}, not ${v.id}`)
  const body = utf8(canonicalize(toInTotoStatement(checked) as unknown as Json))
  return signEnvelope(INTOTO_PAYLOAD_TYPE, body, { keyid: signer.did, sign: (m) => signer.sign(m) })
}

export interface ImportOptions extends BridgePublishOptions, VerifyEnvelopeOptions {
  keys: readonly TrustedKey[]
}

export interface ImportResult {
  predicateType: string
  envelope: string
  payload: string
  /** Keys whose signature verified (their keyid, or the key in hex). */
  signedBy: string[]
  /** `claims`: new claims of the importer; `statement`: a vouch statement carried unchanged. */
  kind: 'claims' | 'statement'
  items: { subject: string; claim: string; object?: string; status: 'published' | 'already' | 'planned'; id?: string; actor: string }[]
  statements: VerifiedStatement[]
  relays: PublishReport[]
}

/**
 * Imports one envelope file's bytes. Everything is checked (envelope, signatures, statement,
 * predicate, every claim's shape) before anything is published; a failure publishes nothing.
 */
export async function importEnvelope(bytes: Uint8Array, o: ImportOptions): Promise<ImportResult> {
  const env = parseEnvelope(bytes)
  const signedBy = (await verifyEnvelope(env, o.keys, o)).map((k) => k.keyid ?? hex.encode(k.publicKey))
  const stmt = parseInTotoStatement(env.payload)
  const ctx: ImportContext = { envelope: formatSri(await sha256(bytes)), payload: formatSri(await sha256(env.payload)) }
  const base = { predicateType: stmt.predicateType, envelope: ctx.envelope, payload: ctx.payload, signedBy }

  if (stmt.predicateType === VOUCH_PREDICATE_TYPE) {
    let v: VerifiedStatement
    try {
      v = await verifyStatement(stmt.predicate ?? bad('the vouch predicate is empty'), { now: Date.now() })
    } catch (e) {
      if (e instanceof ProtocolError) throw new BridgeError('verification', e.code, `the vouch statement inside the envelope fails verification (${e.code}: ${e.message})`)
      throw e
    }
    const want = canonicalize(exportSubject(v) as unknown as Json)
    if (!stmt.subject.some((s) => canonicalize(s as unknown as Json) === want)) bad('the in-toto subject does not name the hash the vouch statement is about')
    const prior = await priorStatements([v.statement.subject], v.statement.claim, o, v.statement.actor)
    const held = prior.get(v.statement.subject)?.some((s) => s.sig === v.statement.sig)
    const status = held ? 'already' : o.dryRun ? 'planned' : 'published'
    const r = status === 'published' ? await publish(o.relays, [v], { quorum: o.quorum, timeoutMs: o.timeoutMs, signal: o.signal, fetch: o.fetch }) : undefined
    const s: Statement = v.statement
    return { ...base, kind: 'statement', items: [{ subject: s.subject, claim: s.claim, ...(s.object !== undefined && { object: s.object }), status, id: v.id, actor: s.actor }], statements: [v], relays: r?.relays ?? [] }
  }

  const claims = provenanceClaims(stmt, ctx)
  const prior = await priorStatements(claims.map((c) => c.subject), 'build', o)
  const todo = claims.filter((c) => !alreadySaid(prior, c))
  const published = await signAndPublish(todo, o)
  const items = claims.map((c) => {
    const i = todo.indexOf(c)
    return { subject: c.subject, claim: c.claim, object: c.object, status: i < 0 ? ('already' as const) : o.dryRun ? ('planned' as const) : ('published' as const), ...(i >= 0 && { id: published.statements[i]!.id }), actor: o.signer.did }
  })
  return { ...base, kind: 'claims', items, statements: published.statements, relays: published.relays }
}
