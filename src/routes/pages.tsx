import type { Context } from 'hono'
import { createRouter, type AppEnv } from '../app.ts'
import {
  ActorPage,
  actorData,
  AliasResults,
  aliasClaims,
  ErrorPage,
  HashPage,
  hashData,
  HomePage,
  isEmptyActor,
  isEmptyHash,
  isEmptyPackage,
  latest,
  ownAliases,
  PackagePage,
  packageData,
  POLICY_MAX_BYTES,
  render,
  resolveSearch,
  runTrust,
  SearchProblem,
  StatusPage,
  statusData,
  TrustPage,
  type TrustInput,
} from '../explorer/index.ts'
import { selfUrl, stats } from '../gossip/index.ts'
import { ApiError } from '../http/errors.ts'
import { checkAliases, type AliasCheck } from '../identity/index.ts'
import { decodeDidKey, formatSri, LIMITS, parseHashParam, ProtocolError, utf8 } from '../verify/index.ts'

/**
 * The web explorer (README, "Explorer"): HTML pages over the same store queries as the API.
 * Subjects, objects and meta are attacker-controlled text: JSX escapes all of it, nothing here
 * uses raw HTML, and every page carries a CSP that allows no script at all.
 */
export const pages = createRouter()

type C = Context<AppEnv>

/** Alias proofs checked for one actor page, at most (each is an outbound request with a 4 s timeout). */
const MAX_ALIAS_CHECKS = 10

pages.get('/', async (c) => {
  const q = c.req.query('q')
  if (q !== undefined) return search(c, q)
  return render(c, 200, 'explorer', <HomePage latest={await latest(c.env.DB)} />)
})

pages.get('/search', (c) => search(c, c.req.query('q') ?? ''))

async function search(c: C, q: string): Promise<Response> {
  const target = resolveSearch(q)
  switch (target.kind) {
    case 'empty':
      return c.redirect('/', 303)
    case 'page':
      return c.redirect(target.href, 303)
    case 'invalid':
      return render(c, 400, 'search', <SearchProblem q={q} message={target.message} />, { q })
    case 'alias': {
      const rows = await aliasClaims(c.env.DB, target.alias)
      return render(c, rows.items.length ? 200 : 404, target.alias, <AliasResults alias={target.alias} rows={rows} now={Date.now()} />, { q })
    }
  }
}

// [\s\S], not `.`: a subject may hold line terminators (\n, U+2028), which `.` does not match.
pages.get('/package/:purl{[\\s\\S]+}', async (c) => {
  const purl = c.req.param('purl')
  if (!purl.startsWith('pkg:') || !/^pkg:[a-z0-9.+-]+\/./.test(purl)) {
    throw new ApiError(400, 'bad_parameter', 'a package is named by its package URL: pkg:<type>/<name>[@<version>] (search for mylib@1.2.3 to get pkg:generic/mylib@1.2.3)')
  }
  if (utf8(purl).length > LIMITS.termBytes) throw new ApiError(400, 'bad_parameter', `a subject is at most ${LIMITS.termBytes} bytes`)
  const d = await packageData(c.env.DB, purl)
  return render(c, isEmptyPackage(d) ? 404 : 200, purl, <PackagePage d={d} now={Date.now()} />, { q: purl })
})

pages.get('/hash/:hash{.+}', async (c) => {
  const digest = parseHashParam(c.req.param('hash'))
  if (!digest) throw new ApiError(400, 'bad_hash', 'not a hash in a documented form: sha256:<hex>, sha256-<base64url> or sha256-<base64> (percent-encoded); also sha1, sha384, sha512')
  const sri = formatSri(digest)
  const d = await hashData(c.env, sri, (p) => c.executionCtx.waitUntil(p))
  return render(c, isEmptyHash(d) ? 404 : 200, sri, <HashPage d={d} now={Date.now()} />, { q: sri })
})

pages.get('/actor/:did{.+}', async (c) => {
  const did = c.req.param('did')
  if (!decodeDidKey(did)) throw new ApiError(400, 'bad_actor', 'an actor is an Ed25519 did:key (did:key:z6Mk…, 56 characters)')
  const now = Date.now()
  const d = await actorData(c.env.DB, did)
  let checks: Map<string, AliasCheck> | undefined
  if (c.req.query('check') === '1') {
    const claims = ownAliases(d, now)
      .filter((r) => !r.statement.not)
      .slice(0, MAX_ALIAS_CHECKS)
      .map((r) => ({ did, alias: r.statement.object! }))
    // Never allowPrivate: an alias someone published must not make this relay probe its own network.
    const { results } = await checkAliases(claims, { timeoutMs: 4000 })
    checks = new Map(results.map((r) => [r.alias, r]))
  }
  return render(c, isEmptyActor(d) ? 404 : 200, did, <ActorPage d={d} now={now} checks={checks} />, { q: did })
})

/** `mylib@1.2.3` in the package field means the generic purl, as in search. */
const asPurl = (s: string) => {
  const t = s.trim()
  return t && !t.startsWith('pkg:') && !/[\s:]/.test(t) ? `pkg:generic/${t}` : t
}

async function trust(c: C, input: TrustInput): Promise<Response> {
  const result = await runTrust(c.env.DB, input, Date.now())
  return render(c, result.ok ? 200 : 400, 'trust view', <TrustPage input={input} result={result} />)
}

pages.get('/trust', async (c) => {
  const pkg = c.req.query('package') ?? ''
  const policy = c.req.query('policy')
  const input: TrustInput = { subject: asPurl(pkg), policyText: policy ?? '', checkAliases: c.req.query('checkAliases') === '1' }
  if (policy === undefined) return render(c, 200, 'trust view', <TrustPage input={input} />)
  if (utf8(policy).length > POLICY_MAX_BYTES) throw new ApiError(413, 'body_too_large', `a policy is at most ${POLICY_MAX_BYTES} bytes here`)
  return trust(c, input)
})

/** The form's limit: the policy plus the other fields and multipart framing. */
const FORM_MAX_BYTES = POLICY_MAX_BYTES + 8 * 1024

pages.post('/trust', async (c) => {
  const declared = c.req.header('content-length')
  if (declared === undefined || !/^\d+$/.test(declared)) throw new ApiError(411, 'length_required', 'send the form with a Content-Length')
  if (Number(declared) > FORM_MAX_BYTES) throw new ApiError(413, 'body_too_large', `the form is at most ${FORM_MAX_BYTES} bytes (a policy at most ${POLICY_MAX_BYTES})`)
  const type = c.req.header('content-type') ?? ''
  if (!/^(multipart\/form-data|application\/x-www-form-urlencoded)\b/i.test(type)) throw new ApiError(415, 'unsupported_media_type', 'send the form (multipart/form-data or application/x-www-form-urlencoded)')
  if (/^multipart\/form-data\b/i.test(type) && !/;\s*boundary=("[^"]+"|[^\s;]+)/i.test(type)) {
    throw new ApiError(400, 'bad_form', 'multipart/form-data needs a boundary parameter: Content-Type: multipart/form-data; boundary=…')
  }
  const form = await parseForm(c)
  const field = (k: string) => (typeof form[k] === 'string' ? (form[k] as string) : '')
  const file = form.policyFile
  let policyText = field('policy')
  if (file instanceof File && file.size > 0) {
    if (file.size > POLICY_MAX_BYTES) throw new ApiError(413, 'body_too_large', `a policy is at most ${POLICY_MAX_BYTES} bytes here`)
    policyText = await file.text()
  }
  return trust(c, { subject: asPurl(field('package')), policyText, checkAliases: field('checkAliases') === '1' })
})

/** The form's fields; a body that does not parse as the form it claims to be is the client's error. */
async function parseForm(c: C): Promise<Record<string, string | File>> {
  try {
    return await c.req.parseBody()
  } catch (e) {
    // workerd's formData() throws TypeError for a malformed body; anything else is ours.
    if (e instanceof TypeError) throw new ApiError(400, 'bad_form', `the form could not be read: ${e.message}`)
    throw e
  }
}

pages.get('/status', async (c) => {
  const env = c.env
  const d = await statusData(env)
  return render(c, 200, 'status', <StatusPage d={d} self={selfUrl(env, c.req.url)} gossip={stats} now={Date.now()} />)
})

/** Errors on pages are pages too (the API's errors stay JSON). A 500 shows no internals. */
pages.onError(async (err, c) => {
  if (err instanceof ApiError) return render(c, err.status, 'error', <ErrorPage status={err.status} message={err.message} />)
  if (err instanceof ProtocolError) return render(c, 400, 'error', <ErrorPage status={400} message={err.message} />)
  console.error('internal error', err)
  return render(c, 500, 'error', <ErrorPage status={500} message="internal error" />)
})
