import type { Context } from 'hono'
import { createRouter, type AppEnv } from '../app.ts'
import {
  ActorPage,
  actorData,
  actorHref,
  AliasResults,
  aliasClaims,
  checkAndStore,
  ErrorPage,
  FindResults,
  findNames,
  type FindResult,
  HashPage,
  hashData,
  HomePage,
  isEmptyActor,
  isEmptyFind,
  packageHref,
  isEmptyHash,
  isEmptyPackage,
  latest,
  MAX_CHECKS_PER_ACTOR,
  ownAliases,
  PackagePage,
  packageData,
  POLICY_MAX_BYTES,
  render,
  resolveSearch,
  runTrust,
  SearchProblem,
  type ShownCheck,
  shownChecks,
  StatusPage,
  statusData,
  TrustPage,
  type TrustInput,
  unchecked,
  withStored,
} from '../explorer/index.ts'
import { selfUrl, stats } from '../gossip/index.ts'
import { ApiError } from '../http/errors.ts'
import { limitPerIp, refuseCrossSite } from '../http/guards.ts'
import { decodeDidKey, formatSri, LIMITS, parseHashParam, ProtocolError, utf8 } from '../verify/index.ts'

/**
 * The web explorer (README, "Explorer"): HTML pages over the same store queries as the API.
 * Subjects, objects and meta are attacker-controlled text: JSX escapes all of it, nothing here
 * uses raw HTML, and every page carries a CSP that allows no script at all.
 */
export const pages = createRouter()

type C = Context<AppEnv>

/** RATE_CHECKS's period (wrangler.toml): the Retry-After of its 429. */
const CHECKS_PERIOD_SECONDS = 60

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
    case 'find': {
      const r = await findNames(c.env.DB, target.query)
      // `name@1.2.3` that names exactly one version held here goes straight to it, as before.
      const only = exactVersion(r)
      if (only) return c.redirect(packageHref(only), 303)
      return render(c, isEmptyFind(r) ? 404 : 200, `search: ${target.query.name}`, <FindResults r={r} now={Date.now()} />, { q })
    }
  }
}

function exactVersion(r: FindResult): string | undefined {
  const { version } = r.query
  if (!version || r.aliases.length) return undefined
  const exact = r.packages.items.flatMap((p) => (p.versions?.items ?? []).filter((v) => v.subject === `${p.pkg}@${version}`))
  return exact.length === 1 ? exact[0]!.subject : undefined
}

// [\s\S], not `.`: a subject may hold line terminators (\n, U+2028), which `.` does not match.
pages.get('/package/:purl{[\\s\\S]+}', async (c) => {
  const purl = c.req.param('purl')
  if (!purl.startsWith('pkg:') || !/^pkg:[a-z0-9.+-]+\/./.test(purl)) {
    throw new ApiError(400, 'bad_parameter', 'a package is named by its package URL: pkg:<type>/<name>[@<version>] (search for mylib@1.2.3 to get pkg:generic/mylib@1.2.3)')
  }
  if (utf8(purl).length > LIMITS.termBytes) throw new ApiError(400, 'bad_parameter', `a subject is at most ${LIMITS.termBytes} bytes`)
  // The explorer's marks trust the roots of the operator's EXPLORER_POLICY (by default the relay's admission roots).
  const trusted = c.var.config.explorerPolicy.trust.keys
  const d = await packageData(c.env.DB, purl, trusted)
  return render(c, isEmptyPackage(d) ? 404 : 200, purl, <PackagePage d={d} now={Date.now()} trusted={trusted} />, { q: purl })
})

pages.get('/hash/:hash{.+}', async (c) => {
  const digest = parseHashParam(c.req.param('hash'))
  if (!digest) throw new ApiError(400, 'bad_hash', 'not a hash in a documented form: sha256:<hex>, sha256-<base64url> or sha256-<base64> (percent-encoded); also sha1, sha384, sha512')
  const sri = formatSri(digest)
  const d = await hashData(c.env, sri, (p) => c.executionCtx.waitUntil(p))
  return render(c, isEmptyHash(d) ? 404 : 200, sri, <HashPage d={d} now={Date.now()} />, { q: sri })
})

/** The actor's own alias claims in force (not withdrawn), each with its cached result if any. */
async function actorChecks(c: C, did: string, now: number) {
  const d = await actorData(c.env.DB, did)
  const claims = ownAliases(d, now)
    .filter((r) => !r.statement.not)
    .map((r) => ({ did, alias: r.statement.object! }))
  return { d, shown: await shownChecks(c.env.CACHE, claims, now) }
}

const actorDid = (c: C) => {
  const did = c.req.param('did')!
  if (!decodeDidKey(did)) throw new ApiError(400, 'bad_actor', 'an actor is an Ed25519 did:key (did:key:z6Mk…, 56 characters)')
  return did
}

/** A page view only reads the shared proof cache: looking at a page never makes the relay fetch. */
pages.get('/actor/:did{.+}', async (c) => {
  const did = actorDid(c)
  const now = Date.now()
  const { d, shown } = await actorChecks(c, did, now)
  const checks = new Map(shown.flatMap((s) => (s.check ? [[s.alias, s.check] as const] : [])))
  return render(c, isEmptyActor(d) ? 404 : 200, did, <ActorPage d={d} now={now} checks={checks} />, { q: did })
})

/**
 * Checks the actor's alias proofs that have no fresh result (at most MAX_CHECKS_PER_ACTOR, each
 * with its timeout), stores them in the shared cache, and sends the browser back to the page.
 * Only a POST that has something to fetch counts against the visitor's RATE_CHECKS budget.
 */
pages.post('/actor/:did{.+}', async (c) => {
  refuseCrossSite(c)
  const did = actorDid(c)
  const { shown } = await actorChecks(c, did, Date.now())
  const todo = unchecked(shown, MAX_CHECKS_PER_ACTOR)
  if (todo.length) {
    await limitPerIp(c, c.env.RATE_CHECKS, 'alias checks', CHECKS_PERIOD_SECONDS)
    await checkAndStore(c.env.CACHE, todo, c.var.config.aliasProofBases)
  }
  return c.redirect(`${actorHref(did)}#aliases`, 303)
})

/** `mylib@1.2.3` in the package field means the generic purl, as in search. */
const asPurl = (s: string) => {
  const t = s.trim()
  return t && !t.startsWith('pkg:') && !/[\s:]/.test(t) ? `pkg:generic/${t}` : t
}

/**
 * The trust view. A GET shows alias proofs from the shared cache only; a POST (the form) also
 * checks the ones without a fresh result, rate limited like the actor page's button. The gatherer
 * hands over at most TRUST_BOUNDS.maxAliasClaims (16) claims, which bounds the work per POST.
 */
async function trust(c: C, input: TrustInput, mayCheck: boolean): Promise<Response> {
  const lookup = async (claims: { did: string; alias: string }[]): Promise<ShownCheck[]> => {
    const shown = await shownChecks(c.env.CACHE, claims, Date.now())
    const todo = mayCheck ? unchecked(shown) : []
    if (todo.length === 0) return shown
    await limitPerIp(c, c.env.RATE_CHECKS, 'alias checks', CHECKS_PERIOD_SECONDS)
    return withStored(shown, await checkAndStore(c.env.CACHE, todo, c.var.config.aliasProofBases))
  }
  const result = await runTrust(c.env.DB, input, Date.now(), lookup)
  return render(c, result.ok ? 200 : 400, 'trust view', <TrustPage input={input} result={result} />)
}

pages.get('/trust', async (c) => {
  const pkg = c.req.query('package') ?? ''
  const policy = c.req.query('policy')
  const input: TrustInput = { subject: asPurl(pkg), policyText: policy ?? '', checkAliases: c.req.query('checkAliases') === '1' }
  if (policy === undefined) {
    // The form starts from the operator's explorer policy, when it trusts anyone.
    const own = c.var.config.explorerPolicy
    return render(c, 200, 'trust view', <TrustPage input={{ ...input, policyText: own.trust.keys.length || own.trust.aliases.length ? JSON.stringify(own, null, 2) : '' }} />)
  }
  if (utf8(policy).length > POLICY_MAX_BYTES) throw new ApiError(413, 'body_too_large', `a policy is at most ${POLICY_MAX_BYTES} bytes here`)
  return trust(c, input, false)
})

/** The form's limit: the policy plus the other fields and multipart framing. */
const FORM_MAX_BYTES = POLICY_MAX_BYTES + 8 * 1024

pages.post('/trust', async (c) => {
  refuseCrossSite(c)
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
  return trust(c, { subject: asPurl(field('package')), policyText, checkAliases: field('checkAliases') === '1' }, true)
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
  if (err instanceof ApiError) {
    for (const [k, v] of Object.entries(err.headers ?? {})) c.header(k, v)
    return render(c, err.status, 'error', <ErrorPage status={err.status} message={err.message} code={err.code} />)
  }
  if (err instanceof ProtocolError) return render(c, 400, 'error', <ErrorPage status={400} message={err.message} />)
  console.error('internal error', err)
  return render(c, 500, 'error', <ErrorPage status={500} message="internal error" />)
})
