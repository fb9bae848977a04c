import { isInnerList, parseDictionary, serializeInnerList, type BareItem, type InnerList, type Item, type Parameters } from 'structured-headers'
import { base64, utf8 } from './bytes.ts'
import { decodeDidKey } from './did-key.ts'
import { sign, verify } from './ed25519.ts'
import { ProtocolError } from './errors.ts'

/**
 * Relay-to-relay authentication with HTTP Message Signatures (RFC 9421), Ed25519 (`alg="ed25519"`,
 * §3.3.6), and the body bound by `Content-Digest` (RFC 9530, `sha-256`).
 *
 * What a vouch signature covers, always in this order: `"@method" "@path" "@query"` and, when the
 * request has a body, `"content-digest"`. Parameters: `created` (seconds), `keyid` (the sender's
 * `did:key`), `alg="ed25519"` and `tag="vouch"`. The authority is deliberately not covered: a relay
 * behind a proxy or a custom domain sees a different host than its peer dialled, and a replay to
 * another relay only repeats a request whose statements verify on their own (§6.7 of the protocol).
 * Replays within the window are harmless for the same reason; the window bounds everything else.
 *
 * Parsing of `Signature-Input` and `Signature` is RFC 8941 Structured Fields, by `structured-headers`
 * (not hand-written: the grammar has many corners, and other implementations must interoperate).
 */

export const SIGNATURE_LABEL = 'vouch'
export const SIGNATURE_TAG = 'vouch'
/** How far `created` may be from the verifier's clock, in seconds. */
export const SIGNATURE_WINDOW_S = 300

export interface SignedParts {
  method: string
  /** The request URL, absolute. Only its path and query are covered. */
  url: string
  /** The `Content-Digest` header value, when the request has a body. */
  contentDigest?: string
}

/** `sha-256=:<base64>:` of a body (RFC 9530 §2). */
export async function contentDigest(body: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', body))
  return `sha-256=:${base64.encode(d)}:`
}

/** RFC 9421 §2.2.7: `@query` is the query with its leading `?`, and `?` alone when there is none. */
const derived = (u: URL) => ({ '@path': u.pathname || '/', '@query': u.search || '?' })

function components(p: SignedParts): [string, string][] {
  const u = new URL(p.url)
  const d = derived(u)
  const out: [string, string][] = [
    ['@method', p.method.toUpperCase()],
    ['@path', d['@path']],
    ['@query', d['@query']],
  ]
  if (p.contentDigest !== undefined) out.push(['content-digest', p.contentDigest.trim()])
  return out
}

/** The signature base of RFC 9421 §2.5 for the given covered values and serialised parameters. */
export function signatureBase(covered: readonly [string, string][], signatureParams: string): string {
  for (const [name, value] of covered) {
    if (/[\r\n]/.test(value)) throw new RangeError(`component ${name} contains a line break`)
  }
  return [...covered.map(([n, v]) => `"${n}": ${v}`), `"@signature-params": ${signatureParams}`].join('\n')
}

function paramsOf(covered: readonly [string, string][], params: Parameters): string {
  const list: InnerList = [covered.map(([n]): Item => [n, new Map()]), params]
  return serializeInnerList(list)
}

/**
 * Signs a request: returns the `Signature-Input` and `Signature` headers (and `Content-Digest` when
 * a body is given). `created` is in seconds.
 */
export async function signRequest(
  req: { method: string; url: string; body?: Uint8Array },
  key: { did: string; secretKey: Uint8Array },
  created: number = Math.floor(Date.now() / 1000),
): Promise<Record<string, string>> {
  const digest = req.body ? await contentDigest(req.body) : undefined
  const covered = components({ method: req.method, url: req.url, contentDigest: digest })
  const params: Parameters = new Map<string, BareItem>([
    ['created', created],
    ['keyid', key.did],
    ['alg', 'ed25519'],
    ['tag', SIGNATURE_TAG],
  ])
  const input = paramsOf(covered, params)
  const sig = await sign(utf8(signatureBase(covered, input)), key.secretKey)
  const headers: Record<string, string> = {
    'signature-input': `${SIGNATURE_LABEL}=${input}`,
    signature: `${SIGNATURE_LABEL}=:${base64.encode(sig)}:`,
  }
  if (digest) headers['content-digest'] = digest
  return headers
}

/**
 * The `keyid` a request's `vouch` signature names, read without checking anything else, or
 * undefined when there is none or the header does not parse. A receiver uses it to decide, before
 * reading a body or verifying a signature, whether the request even claims to be from a key it
 * would treat differently (PROTOCOL §6.7): checking a stranger's signature would buy nothing.
 */
export function signatureKeyId(headers: Headers): string | undefined {
  const input = headers.get('signature-input')
  if (input === null) return undefined
  try {
    const entry = parseDictionary(input).get(SIGNATURE_LABEL)
    const keyid = entry && isInnerList(entry) ? entry[1].get('keyid') : undefined
    return typeof keyid === 'string' ? keyid : undefined
  } catch {
    return undefined
  }
}

const refuse = (message: string): never => {
  throw new ProtocolError('bad_request_signature', message)
}

const bytesOf = (v: BareItem): Uint8Array | undefined => (v instanceof ArrayBuffer ? new Uint8Array(v) : undefined)

/**
 * Verifies the `vouch` signature of a request. Returns the signer's `did:key`, or `undefined` when
 * the request carries no `vouch` signature at all (an anonymous request). A signature that is
 * present but malformed, stale, over the wrong components, or invalid throws `ProtocolError`
 * `bad_request_signature`: a request that claims to be a peer and is not is refused, not demoted.
 *
 * `body` is the exact body bytes when the request has one; its digest is recomputed, never believed.
 */
export async function verifyRequest(
  req: { method: string; url: string; headers: Headers; body?: Uint8Array },
  nowSeconds: number = Math.floor(Date.now() / 1000),
): Promise<string | undefined> {
  const inputHeader = req.headers.get('signature-input')
  const sigHeader = req.headers.get('signature')
  if (inputHeader === null && sigHeader === null) return undefined
  if (inputHeader === null || sigHeader === null) refuse('Signature-Input and Signature come together')
  let inputs, sigs
  try {
    inputs = parseDictionary(inputHeader!)
    sigs = parseDictionary(sigHeader!)
  } catch (e) {
    return refuse(`Signature-Input or Signature is not a structured field: ${(e as Error).message}`)
  }
  const input = inputs.get(SIGNATURE_LABEL)
  const sigItem = sigs.get(SIGNATURE_LABEL)
  if (input === undefined && sigItem === undefined) return undefined
  if (!input || !sigItem || !isInnerList(input) || isInnerList(sigItem)) refuse(`the "${SIGNATURE_LABEL}" signature is malformed`)
  const [items, params] = input as InnerList
  const signature = bytesOf((sigItem as Item)[0])
  if (!signature || signature.length !== 64) return refuse('the signature is not 64 bytes')

  const names = items.map(([n]) => n)
  const digest = req.headers.get('content-digest') ?? undefined
  const hasBody = req.body !== undefined && req.body.length > 0
  const expected = ['@method', '@path', '@query', ...(hasBody ? ['content-digest'] : [])]
  if (names.length !== expected.length || names.some((n, i) => n !== expected[i])) {
    refuse(`the signature must cover ${expected.map((n) => `"${n}"`).join(' ')}`)
  }
  if (items.some(([, p]) => p.size)) refuse('covered components take no parameters')
  if (hasBody) {
    if (digest === undefined) refuse('a signed body needs Content-Digest')
    if (digest!.trim() !== (await contentDigest(req.body!))) refuse('Content-Digest does not match the body')
  }
  const keyid = params.get('keyid')
  const created = params.get('created')
  if (params.get('alg') !== 'ed25519') refuse('alg must be "ed25519"')
  if (params.get('tag') !== SIGNATURE_TAG) refuse(`tag must be "${SIGNATURE_TAG}"`)
  if (typeof keyid !== 'string') return refuse('keyid must be a did:key string')
  if (typeof created !== 'number' || !Number.isInteger(created)) return refuse('created must be an integer')
  for (const k of params.keys()) if (!['created', 'keyid', 'alg', 'tag', 'expires', 'nonce'].includes(k)) refuse(`unknown parameter ${k}`)
  if (Math.abs(nowSeconds - created) > SIGNATURE_WINDOW_S) refuse(`created is more than ${SIGNATURE_WINDOW_S} s from now`)
  const expires = params.get('expires')
  if (expires !== undefined && (typeof expires !== 'number' || expires < nowSeconds)) refuse('the signature has expired')
  const publicKey = decodeDidKey(keyid)
  if (!publicKey) return refuse('keyid is not a did:key')

  const covered = components({ method: req.method, url: req.url, contentDigest: hasBody ? digest : undefined })
  const base = signatureBase(covered, serializeInnerList(input as InnerList))
  if (!(await verify(signature, utf8(base), publicKey))) refuse('the request signature does not verify')
  return keyid
}
