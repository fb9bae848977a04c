import {
  canonicalize,
  decodeBase64url,
  decodeDidKey,
  ensureStatementShape,
  formatSri,
  LIMITS,
  parseJson,
  parseSri,
  sha256,
  signingBytes,
  utf8,
  verify,
  verifyStatement,
  weakKeyReason,
  weakSignatureReason,
  type Json,
  type VerifiedStatement,
} from '../../src/verify/index.ts'

/**
 * The stages of POST /v1/statements for one batch, each as a function over the whole batch,
 * calling the same src/verify functions the handler calls. Runs both in Node (timed with
 * performance.now) and in workerd (bench/lib/stage-worker.ts, timed by the process's CPU time,
 * since a Worker's clock does not advance while it computes). No HTTP and no D1 here: the
 * benchmark measures those separately.
 */
export interface Stage {
  name: string
  /** 1 = part of the stage above it, 2 = part of that part. */
  depth: number
  run(): unknown
}

export async function prepareStages(text: string): Promise<Stage[]> {
  return (await prepareBatch(text)).stages
}

/** The stages, and the batch as the handler has it after verification (for D1 inserts). */
export async function prepareBatch(text: string): Promise<{ stages: Stage[]; verified: VerifiedStatement[] }> {
  const bytes = utf8(text)
  const now = Date.now()
  const parsed = parseJson(text, { maxDepth: LIMITS.bodyDepth }) as Json[]
  const shaped = parsed.map((v) => ensureStatementShape(v))
  const canonBytes = shaped.map((s) => utf8(canonicalize(s as unknown as Json)))
  const keys = shaped.map((s) => decodeDidKey(s.actor)!)
  const sigs = shaped.map((s) => decodeBase64url(s.sig)!)
  const msgs = shaped.map((s) => signingBytes(s))
  const ALG = { name: 'Ed25519' }
  const cryptoKeys = await Promise.all(keys.map((k) => crypto.subtle.importKey('raw', k, ALG, false, ['verify'])))
  const verified = await Promise.all(parsed.map((v) => verifyStatement(v, { now })))

  const stages: Stage[] = [
    { name: 'UTF-8 decode of the body (TextDecoder, fatal)', depth: 0, run: () => new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes) },
    { name: 'strict parseJson of the body', depth: 0, run: () => parseJson(text, { maxDepth: LIMITS.bodyDepth }) },
    { name: '(for scale: JSON.parse of the same body)', depth: 1, run: () => JSON.parse(text) },
    { name: 'verifyStatement, all of it (Promise.all)', depth: 0, run: () => Promise.all(parsed.map((v) => verifyStatement(v, { now }))) },
    { name: 'ensureStatementShape', depth: 1, run: () => parsed.forEach((v) => ensureStatementShape(v)) },
    { name: 'decodeDidKey(actor): base58 + re-encode', depth: 2, run: () => shaped.forEach((s) => decodeDidKey(s.actor)) },
    { name: 'parseSri(object): base64 + re-encode', depth: 2, run: () => shaped.forEach((s) => parseSri(s.object!)) },
    { name: 'decodeBase64url(sig) + re-encode', depth: 2, run: () => shaped.forEach((s) => decodeBase64url(s.sig)) },
    { name: 'canonicalize + utf8 (the id bytes)', depth: 1, run: () => shaped.forEach((s) => utf8(canonicalize(s as unknown as Json))) },
    { name: 'decodeDidKey(actor), second time', depth: 1, run: () => shaped.forEach((s) => decodeDidKey(s.actor)) },
    { name: 'decodeBase64url(sig), second time', depth: 1, run: () => shaped.forEach((s) => decodeBase64url(s.sig)) },
    { name: 'weakKeyReason + weakSignatureReason', depth: 1, run: () => keys.forEach((k, i) => (weakKeyReason(k), weakSignatureReason(sigs[i]!))) },
    { name: 'signingBytes: copy, canonicalize again, utf8', depth: 1, run: () => shaped.forEach((s) => signingBytes(s)) },
    { name: 'verify() (strict checks, key cache, WebCrypto)', depth: 1, run: () => Promise.all(sigs.map((sig, i) => verify(sig, msgs[i]!, keys[i]!))) },
    {
      name: 'bare crypto.subtle.verify, key imported once',
      depth: 2,
      run: () => Promise.all(sigs.map((sig, i) => crypto.subtle.verify(ALG, cryptoKeys[i]!, sig, msgs[i]!))),
    },
    { name: 'sha256 id (crypto.subtle.digest) + formatSri', depth: 1, run: () => Promise.all(canonBytes.map(async (b) => formatSri(await sha256(b)))) },
    {
      name: 'D1 parameter: JSON row per statement',
      depth: 0,
      run: () =>
        verified.map(({ id, statement: s, canonical }) =>
          JSON.stringify([id, s.actor, s.subject, s.claim, s.object ?? null, s.not ? 1 : 0, s.time, canonical]),
        ),
    },
    {
      name: 'response: results + counts + JSON.stringify',
      depth: 0,
      run: () => {
        const results = verified.map((v, index) => ({ index, id: v.id, status: 'accepted' }))
        const count = (st: string) => results.filter((r) => r.status === st).length
        return JSON.stringify({ accepted: count('accepted'), duplicate: count('duplicate'), rejected: count('rejected'), results })
      },
    },
  ]
  return { stages, verified }
}

/**
 * Node: median CPU µs per statement of each stage over `reps` runs, after a warm-up. CPU time
 * (process.cpuUsage, which includes the threads WebCrypto runs on), not wall time, so other
 * processes on the machine matter less.
 */
export async function profileInNode(text: string, n: number, reps = 15): Promise<number[]> {
  const stages = await prepareStages(text)
  const cpuUs = () => {
    const u = process.cpuUsage()
    return u.user + u.system
  }
  const out: number[] = []
  for (const stage of stages) {
    for (let i = 0; i < 3; i++) await stage.run()
    const samples: number[] = []
    for (let r = 0; r < reps; r++) {
      const t = cpuUs()
      await stage.run()
      samples.push((cpuUs() - t) / n)
    }
    samples.sort((a, b) => a - b)
    out.push(samples[samples.length >> 1]!)
  }
  return out
}
