/**
 * Writes test/vectors/statements.json: the protocol's statement test vectors (docs/PROTOCOL.md §9).
 *
 *   node --import tsx test/vectors/generate.ts
 *
 * Deterministic: fixed seeds, fixed times, and Ed25519 signatures are deterministic (RFC 8032),
 * so running it twice gives the same file byte for byte. Before writing, it checks every vector
 * against this repository's verifier and every valid signature against @noble/curves, and stops
 * if anything disagrees. test/shared/vectors.test.ts replays the file in workerd and in Node.
 */
import { writeFileSync } from 'node:fs'
import { ed25519 } from '@noble/curves/ed25519'
import {
  base58,
  base64,
  base64url,
  canonicalize,
  encodeDidKey,
  formatSri,
  hex,
  keyPairFromSeed,
  LIMITS,
  parseJson,
  parseJsonBytes,
  ProtocolError,
  sha256,
  sign,
  signingBytes,
  SIGNING_PREFIX,
  utf8,
  verifyStatement,
  type Json,
  type JsonObject,
  type Statement,
  type UnsignedStatement,
} from '../../src/verify/index.ts'

const OUT = new URL('./statements.json', import.meta.url)

/** Statement times: T0 is 2026-05-04T11:55:12.055Z; the workflows follow it a minute apart. */
const T0 = 1_777_895_712_055
const MINUTE = 60_000
/** The clock every invalid vector is checked against: one day after T0. */
const NOW = T0 + 86_400_000
/** Bodies are parsed with the relay's body depth (array › statement › meta › 3 more). */
const MAX_DEPTH = LIMITS.bodyDepth

// ---------------------------------------------------------------------------------------------
// Keys. Seed n is 32 bytes of n, as in test/helpers.ts.

interface Key {
  name: string
  seed: Uint8Array
  publicKey: Uint8Array
  did: string
}

async function key(name: string, n: number): Promise<Key> {
  const seed = new Uint8Array(32).fill(n)
  const { publicKey } = await keyPairFromSeed(seed)
  return { name, seed, publicKey, did: encodeDidKey(publicKey) }
}

const alice = await key('alice (publisher, author, policy owner)', 1)
const builder = await key('builder', 2)
const reviewer = await key('reviewer', 3)
const bridge = await key('npm bridge', 4)
const bob = await key('bob (co-author)', 5)
const mallory = await key('mallory', 6)

// ---------------------------------------------------------------------------------------------
// Hashes: digests of fixed ASCII strings, so anyone can recompute them.

async function digest(alg: 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512', text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(alg, utf8(text)))
}
const sri = (alg: string, bytes: Uint8Array) => `${alg}-${base64.encode(bytes)}`

const SRC_TEXT = 'vouch test vector: mylib 1.2.3 source'
const OUT_TEXT = 'vouch test vector: mylib 1.2.3 build output for x86_64-linux'
const NPM_TEXT = 'vouch test vector: left-pad 1.2.3 tarball'
const SRC = sri('sha256', await digest('SHA-256', SRC_TEXT))
const OUTPUT = sri('sha256', await digest('SHA-256', OUT_TEXT))
const NPM_SHA512 = sri('sha512', await digest('SHA-512', NPM_TEXT))
const NPM_SHA1 = sri('sha1', await digest('SHA-1', NPM_TEXT))
const SHA384 = sri('sha384', await digest('SHA-384', SRC_TEXT))
/** SHA-256 of the empty string: its base64 has both '+' and '/', so its URL forms differ visibly. */
const EMPTY = sri('sha256', await digest('SHA-256', ''))
const EMPTY_BYTES = await digest('SHA-256', '')

// ---------------------------------------------------------------------------------------------
// Valid vectors.

interface ValidVector {
  name: string
  description: string
  seedHex: string
  statement: Statement
  canonical: string
  signingInputHex: string
  id: string
  sig: string
}

/** Client field order (the canonical form sorts them anyway). */
const ORDER = ['v', 'actor', 'subject', 'claim', 'object', 'not', 'time', 'meta', 'sig']
function ordered<T extends object>(o: T): T {
  const out: Record<string, unknown> = {}
  for (const k of ORDER) if (k in o) out[k] = (o as Record<string, unknown>)[k]
  for (const k of Object.keys(o)) if (!(k in out)) out[k] = (o as Record<string, unknown>)[k]
  return out as T
}

const valid: ValidVector[] = []

async function addValid(
  name: string,
  description: string,
  signer: Key,
  fields: Omit<UnsignedStatement, 'v' | 'actor'>,
): Promise<void> {
  const body = ordered({ v: 1, actor: signer.did, ...fields } as UnsignedStatement)
  const input = signingBytes(body)
  const sig = base64url.encode(await sign(input, signer.seed))
  const statement = ordered({ ...body, sig }) as Statement
  // Independent check: @noble/curves (strict RFC 8032 mode) signs and verifies identically.
  const nobleSig = ed25519.sign(input, signer.seed)
  if (base64url.encode(nobleSig) !== sig) throw new Error(`${name}: WebCrypto and @noble/curves signatures differ`)
  if (!ed25519.verify(nobleSig, input, signer.publicKey, { zip215: false })) throw new Error(`${name}: noble refuses`)
  const verified = await verifyStatement(parseJson(JSON.stringify(statement), { maxDepth: MAX_DEPTH }), { now: statement.time })
  const canonical = canonicalize(statement as unknown as Json)
  if (verified.canonical !== canonical) throw new Error(`${name}: canonical form differs`)
  if (verified.id !== formatSri(await sha256(utf8(canonical)))) throw new Error(`${name}: id differs`)
  valid.push({
    name,
    description,
    seedHex: hex.encode(signer.seed),
    statement,
    canonical,
    signingInputHex: hex.encode(input),
    id: verified.id,
    sig,
  })
}

await addValid('source', `Workflow "source": mylib@1.2.3 is ${SRC} (the SHA-256 of the ASCII string "${SRC_TEXT}").`, alice, {
  subject: 'pkg:generic/mylib@1.2.3',
  claim: 'source',
  object: SRC,
  time: T0,
})

await addValid('build', 'Workflow "build": building the source hash produced the output hash, on x86_64-linux.', builder, {
  subject: SRC,
  claim: 'build',
  object: OUTPUT,
  time: T0 + 1 * MINUTE,
  meta: { system: 'x86_64-linux' },
})

await addValid('author', "Workflow \"author\": bob's did:key is an author of pkg:generic/mylib (package without version).", alice, {
  subject: bob.did,
  claim: 'author',
  object: 'pkg:generic/mylib',
  time: T0 + 2 * MINUTE,
})

await addValid('review', 'Workflow "review": the reviewer reviewed the source hash, verdict "pass", with a comment in meta.', reviewer, {
  subject: SRC,
  claim: 'review',
  object: 'pass',
  time: T0 + 3 * MINUTE,
  meta: { comment: 'Read every file. No network access at build time; no install scripts.' },
})

await addValid('trusted-builder', "Workflow \"trusted builder\": alice trusts the builder's key; no object.", alice, {
  subject: builder.did,
  claim: 'trusted-builder',
  time: T0 + 4 * MINUTE,
})

await addValid('trusted-builder-scoped', 'Workflow "trusted builder" with a scope as object (trusted for pkg:npm only).', alice, {
  subject: builder.did,
  claim: 'trusted-builder',
  object: 'pkg:npm',
  time: T0 + 5 * MINUTE,
})

await addValid('untrust-builder', 'Negative form of "trusted builder": alice no longer trusts the builder (not: true, no object).', alice, {
  subject: builder.did,
  claim: 'trusted-builder',
  not: true,
  time: T0 + 6 * MINUTE,
})

await addValid('alias-dns', "Workflow \"alias\": alice's own did:key is dns:example.org.", alice, {
  subject: alice.did,
  claim: 'alias',
  object: 'dns:example.org',
  time: T0 + 7 * MINUTE,
})

await addValid('alias-github', "Workflow \"alias\": alice's own did:key is github:alice.", alice, {
  subject: alice.did,
  claim: 'alias',
  object: 'github:alice',
  time: T0 + 8 * MINUTE,
})

await addValid('alias-withdraw', 'Negative form of "alias": alice withdraws github:alice (not: true).', alice, {
  subject: alice.did,
  claim: 'alias',
  object: 'github:alice',
  not: true,
  time: T0 + 9 * MINUTE,
})

await addValid(
  'published',
  `Workflow "bridged publication": the npm bridge claims npm published left-pad@1.2.3 with integrity ${NPM_SHA512} (SHA-512 of the ASCII string "${NPM_TEXT}"; illustrative, not npm's real value).`,
  bridge,
  {
    subject: 'pkg:npm/left-pad@1.2.3',
    claim: 'published',
    object: NPM_SHA512,
    time: T0 + 10 * MINUTE,
    meta: { registry: 'https://registry.npmjs.org' },
  },
)

await addValid('published-legacy-sha1', "Bridged publication carrying npm's legacy shasum as a sha1 SRI string (sha1 is admitted only for this).", bridge, {
  subject: 'pkg:npm/left-pad@1.2.3',
  claim: 'published',
  object: NPM_SHA1,
  time: T0 + 11 * MINUTE,
  meta: { field: 'shasum', registry: 'https://registry.npmjs.org' },
})

await addValid('published-retraction', 'Negative form of "bridged publication": npm unpublished left-pad@1.2.3 (not: true).', bridge, {
  subject: 'pkg:npm/left-pad@1.2.3',
  claim: 'published',
  object: NPM_SHA512,
  not: true,
  time: T0 + 12 * MINUTE,
  meta: { reason: 'unpublished', registry: 'https://registry.npmjs.org' },
})

await addValid('yank', 'IS NOT form of "source" (yank): mylib@1.2.3 is NOT the source hash, with a reason.', alice, {
  subject: 'pkg:generic/mylib@1.2.3',
  claim: 'source',
  object: SRC,
  not: true,
  time: T0 + 13 * MINUTE,
  meta: { reason: 'tarball was cut from an unreviewed branch' },
})

await addValid('revoke', 'IS NOT form of "author" (revoke): bob is NOT an author of pkg:generic/mylib any more.', alice, {
  subject: bob.did,
  claim: 'author',
  object: 'pkg:generic/mylib',
  not: true,
  time: T0 + 14 * MINUTE,
  meta: { reason: 'key compromised' },
})

await addValid(
  'jcs-unicode-meta',
  'Pins RFC 8785 for non-ASCII text and key order. meta keys sort by UTF-16 code units: "" < "10" < "9" < "Z" < "a" < "comment" < "reviewer" < "é" (U+00E9) < "😂" (U+1F602, UTF-16 D83D DE02) < "דּ" (U+FB33). Code-point order would put U+FB33 before U+1F602, and JavaScript property order would put "9" before "10". Non-ASCII characters are written as raw UTF-8, not escaped.',
  reviewer,
  {
    subject: SRC,
    claim: 'review',
    object: 'pass',
    time: T0 + 15 * MINUTE,
    meta: {
      reviewer: 'Zoë',
      comment: 'Ünïcödé ok 👍🏽 — 日本語 — עברית',
      '\u{1F602}': 'U+1F602 FACE WITH TEARS OF JOY',
      '\uFB33': 'U+FB33 HEBREW LETTER DALET WITH DAGESH',
      'é': 'U+00E9',
      a: 'lower',
      Z: 'upper',
      '9': 9,
      '10': 10,
      '': 'empty key',
    },
  },
)

await addValid(
  'jcs-escapes-meta',
  'Pins RFC 8785 string escaping: \\" \\\\ \\b \\f \\n \\r \\t use short escapes, other C0 controls are \\u00xx with lowercase hex, and DEL, C1 controls, U+2028, U+2029, U+FEFF, "/", "<", ">" and "&" are written raw (unlike, for example, Go\'s default encoder). Controls are allowed in meta, only subject and object refuse them.',
  reviewer,
  {
    subject: SRC,
    claim: 'review',
    object: 'concern',
    time: T0 + 16 * MINUTE,
    meta: {
      comment: 'quote " backslash \\ slash / </script> & <b>',
      controls: '\b\f\n\r\t \u0000 \u0001 \u001f \u007f \u0080 \u009f',
      separators: 'line\u2028para\u2029bom\uFEFFend',
    },
  },
)

await addValid(
  'limits-meta-depth-and-integers',
  'meta at the maximum depth (4, meta itself is depth 1) with integers at ±(2^53 − 1), zero, booleans, null and empty containers. Parsed on its own the statement is 5 deep; inside a batch array, 6 (the body limit).',
  alice,
  {
    subject: 'pkg:generic/mylib@1.2.3',
    claim: 'source',
    object: SRC,
    time: T0 + 17 * MINUTE,
    meta: {
      depth2: { depth3: { depth4: [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0, -1, true, false, null, 'x'], empty4a: [], empty4o: {} } },
      format: 'tgz',
    },
  },
)

await addValid(
  'limits-edges',
  'Edges of the field rules: time 0, an open-vocabulary claim of exactly 64 characters using every allowed punctuation character, and a sha384 SRI object.',
  alice,
  {
    subject: 'pkg:generic/mylib@1.2.3',
    claim: 'x.example:claim/with_every-punctuation.0123456789'.padEnd(64, 'z'),
    object: SHA384,
    time: 0,
  },
)

// Git objects (PROTOCOL §2.2, "Git objects"): ids recomputed here from the object bytes, so the
// vectors also pin git's object hashing ("<type> <size>\0<body>").
async function gitObjectHex(alg: 'SHA-1' | 'SHA-256', type: string, body: Uint8Array): Promise<string> {
  const head = utf8(`${type} ${body.length}\0`)
  const all = new Uint8Array(head.length + body.length)
  all.set(head)
  all.set(body, head.length)
  return hex.encode(new Uint8Array(await crypto.subtle.digest(alg, all)))
}
const EMPTY_TREE_SHA1 = await gitObjectHex('SHA-1', 'tree', new Uint8Array())
const EMPTY_TREE_SHA256 = await gitObjectHex('SHA-256', 'tree', new Uint8Array())
if (EMPTY_TREE_SHA1 !== '4b825dc642cb6eb9a060e54bf8d69288fbee4904') throw new Error('git object hashing is wrong')
const COMMIT_BODY = `tree ${EMPTY_TREE_SHA1}\nauthor vouch <vouch@example.org> 1777895712 +0000\ncommitter vouch <vouch@example.org> 1777895712 +0000\n\nmylib 1.2.3\n`
const COMMIT_SHA1 = await gitObjectHex('SHA-1', 'commit', utf8(COMMIT_BODY))

await addValid('git-tree', `Workflow "git tree": mylib@1.2.3 is the git tree ${EMPTY_TREE_SHA1} (git's empty tree, object format sha1), corroborating its NAR source claim.`, alice, {
  subject: 'pkg:generic/mylib@1.2.3',
  claim: 'git-tree',
  object: `gitoid:tree:sha1:${EMPTY_TREE_SHA1}`,
  time: T0 + 19 * MINUTE,
})

await addValid('git-tree-sha256', `Workflow "git tree" in a repository of object format sha256: git's empty tree is ${EMPTY_TREE_SHA256} there.`, alice, {
  subject: 'pkg:generic/mylib@1.2.3',
  claim: 'git-tree',
  object: `gitoid:tree:sha256:${EMPTY_TREE_SHA256}`,
  time: T0 + 20 * MINUTE,
})

await addValid(
  'git-commit',
  `Workflow "git commit": tag v1.2.3 of mylib points to commit ${COMMIT_SHA1}, the SHA-1 of "commit ${utf8(COMMIT_BODY).length}\\0" and the commit text ${JSON.stringify(COMMIT_BODY)}.`,
  alice,
  {
    subject: 'pkg:generic/mylib@1.2.3',
    claim: 'git-commit',
    object: `gitoid:commit:sha1:${COMMIT_SHA1}`,
    time: T0 + 21 * MINUTE,
    meta: { tag: 'v1.2.3' },
  },
)

{
  const MANIFEST_TEXT = 'vouch test vector: OCI image index of mylib 1.2.3'
  const digestBytes = await digest('SHA-256', MANIFEST_TEXT)
  await addValid(
    'oci-source',
    `An OCI image's source claim: its index digest sha256:${hex.encode(digestBytes)} (the SHA-256 of the ASCII string "${MANIFEST_TEXT}", standing in for the manifest bytes) is written as SRI inside the statement, like every hash; the hex form is for URLs and the CLI only.`,
    alice,
    { subject: 'pkg:oci/mylib@1.2.3', claim: 'source', object: sri('sha256', digestBytes), time: T0 + 22 * MINUTE, meta: { format: 'oci-index' } },
  )
  const PLATFORM_TEXT = 'vouch test vector: OCI image manifest of mylib 1.2.3 for linux/amd64'
  const platformBytes = await digest('SHA-256', PLATFORM_TEXT)
  await addValid(
    'oci-build',
    `An OCI platform build, as \`vouch bridge oci\` claims it: building the index sha256:${hex.encode(digestBytes)} produced the linux/amd64 manifest sha256:${hex.encode(platformBytes)} (the SHA-256 of "${PLATFORM_TEXT}"); both digests are SRI, and meta.system is the platform so a policy groups builds per platform.`,
    alice,
    {
      subject: sri('sha256', digestBytes),
      claim: 'build',
      object: sri('sha256', platformBytes),
      time: T0 + 22 * MINUTE,
      meta: { builder: 'oci', system: 'linux/amd64', platform: { os: 'linux', architecture: 'amd64' }, mediaType: 'application/vnd.oci.image.manifest.v1+json' },
    },
  )
}

/** The largest statement: canonical form exactly 4096 bytes, subject exactly 1024, meta exactly 2048. */
{
  const subject = `pkg:generic/${'é'.repeat(500)}${'a'.repeat(1024 - 12 - 1000)}`
  const metaFor = (n: number) => ({ pad: 'm'.repeat(n) })
  const metaPad = LIMITS.metaBytes - utf8(canonicalize(metaFor(0))).length
  const meta = metaFor(metaPad)
  const probe = (object: string) =>
    canonicalize({ v: 1, actor: alice.did, subject, claim: 'source', object, time: T0 + 18 * MINUTE, meta, sig: 'A'.repeat(86) } as Json)
  const base = utf8(probe('')).length
  const object = `note:${'o'.repeat(LIMITS.statementBytes - base - 5)}`
  await addValid(
    'limits-max-size',
    `The largest admissible statement: canonical signed form exactly ${LIMITS.statementBytes} bytes, subject exactly ${LIMITS.termBytes} UTF-8 bytes (${subject.length} UTF-16 code units: 500 two-byte "é"), canonical meta exactly ${LIMITS.metaBytes} bytes.`,
    alice,
    { subject, claim: 'source', object, time: T0 + 18 * MINUTE, meta },
  )
  const v = valid.at(-1)!
  if (utf8(v.canonical).length !== LIMITS.statementBytes || utf8(subject).length !== LIMITS.termBytes || utf8(canonicalize(meta)).length !== LIMITS.metaBytes) {
    throw new Error('limits-max-size is not at the limits')
  }
}

// ---------------------------------------------------------------------------------------------
// Invalid vectors.

interface InvalidVector {
  name: string
  description: string
  json: string
  now: number
  code: string
}

const invalid: InvalidVector[] = []

function addInvalid(name: string, description: string, json: string, code: string, now = NOW): void {
  invalid.push({ name, description, json, now, code })
}

/** Signs any body, valid or not, so that a verifier that skipped the failing check would accept it. */
async function signAny(body: Record<string, Json>, seed: Uint8Array): Promise<string> {
  const { sig: _sig, ...unsignedBody } = body
  return base64url.encode(await sign(utf8(SIGNING_PREFIX + canonicalize(unsignedBody)), seed))
}

const BASE = { v: 1, actor: alice.did, subject: 'pkg:generic/mylib@1.2.3', claim: 'source', object: SRC, time: T0 } as Record<string, Json>

/**
 * The base "source" statement with `changes` applied (a value of undefined removes the field),
 * signed over its own (flawed) content by `seed`, as JSON text in client field order.
 */
async function variant(changes: Record<string, Json | undefined>, seed: Uint8Array = alice.seed): Promise<Record<string, Json>> {
  const body: Record<string, Json> = { ...BASE }
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete body[k]
    else body[k] = v
  }
  const signed: Record<string, Json> = { ...body, sig: await signAny(body, seed) }
  if ('sig' in changes) {
    if (changes.sig === undefined) delete signed.sig
    else signed.sig = changes.sig
  }
  return ordered(signed)
}
const text = (o: unknown) => JSON.stringify(o)
const signedBase = await variant({})
const baseSig = signedBase.sig as string
const sigBytes = base64url.decode(baseSig)

// not_object
addInvalid('not-object-array', 'A batch-like array holding a valid statement is not a statement.', `[${text(signedBase)}]`, 'not_object')
addInvalid('not-object-null', 'null is not a statement.', 'null', 'not_object')
addInvalid('not-object-string', 'A string is not a statement.', '"pkg:generic/mylib@1.2.3"', 'not_object')

// unsupported_version
addInvalid('unsupported-version-2', 'v is 2; this protocol is v1.', text(await variant({ v: 2 })), 'unsupported_version')
addInvalid('unsupported-version-missing', 'v is missing.', text(await variant({ v: undefined })), 'unsupported_version')
addInvalid('unsupported-version-string', 'v is the string "1", not the number 1.', text(await variant({ v: '1' })), 'unsupported_version')

// unknown_field
addInvalid('unknown-field', 'An extra top-level field ("comment"), signed; extensions belong in meta.', text(await variant({ comment: 'hi' })), 'unknown_field')
{
  const s = await variant({})
  const json = text(s).replace('{', '{"__proto__":{"claim":"build"},')
  addInvalid(
    'unknown-field-proto',
    'A "__proto__" member is an unknown field like any other. It must be kept as a data member and refused, never become the object\'s prototype (which would make "claim" appear to be inherited).',
    json,
    'unknown_field',
  )
}

// missing_field
addInvalid('missing-sig', 'sig is missing.', text(await variant({ sig: undefined })), 'missing_field')
addInvalid('missing-time', 'time is missing (signed without it).', text(await variant({ time: undefined })), 'missing_field')
addInvalid('missing-subject', 'subject is missing (signed without it).', text(await variant({ subject: undefined })), 'missing_field')

// bad_type
addInvalid('bad-type-subject-number', 'subject is a number.', text(await variant({ subject: 42 })), 'bad_type')
addInvalid('bad-type-claim-null', 'claim is null.', text(await variant({ claim: null })), 'bad_type')
addInvalid('bad-type-object-number', 'object is a number.', text(await variant({ object: 1 })), 'bad_type')

// bad_actor
addInvalid('bad-actor-did-web', 'actor is a did:web, not an Ed25519 did:key.', text(await variant({ actor: 'did:web:example.org' })), 'bad_actor')
{
  // multicodec 0xe7 0x01 = secp256k1-pub, followed by a 33-byte compressed point (02 ‖ 32 bytes of 0x11).
  const secp = `did:key:z${base58.encode(Uint8Array.from([0xe7, 0x01, 0x02, ...new Uint8Array(32).fill(0x11)]))}`
  addInvalid('bad-actor-secp256k1', `actor is a did:key of another key type (secp256k1, multicodec 0xe7 0x01): ${secp.slice(0, 16)}…`, text(await variant({ actor: secp })), 'bad_actor')
}
addInvalid('bad-actor-number', 'actor is a number.', text(await variant({ actor: 1 })), 'bad_actor')
addInvalid('bad-actor-truncated', 'actor is a did:key with its last character removed.', text(await variant({ actor: alice.did.slice(0, -1) })), 'bad_actor')

// bad_subject / bad_object
addInvalid('bad-subject-empty', 'subject is the empty string.', text(await variant({ subject: '' })), 'bad_subject')
addInvalid('bad-subject-control-c0', 'subject ends in U+0007 BELL (written \\u0007 in the JSON).', text(await variant({ subject: 'pkg:generic/mylib@1.2.3\u0007' })), 'bad_subject')
addInvalid('bad-subject-control-c1', 'subject contains U+0085 NEXT LINE, a C1 control, raw in the JSON text.', text(await variant({ subject: 'pkg:generic/my\u0085lib@1.2.3' })), 'bad_subject')
addInvalid('bad-subject-too-long', 'subject is 1025 ASCII bytes (limit 1024).', text(await variant({ subject: `pkg:generic/${'a'.repeat(1025 - 12)}` })), 'bad_subject')
{
  const subject = `pkg:generic/${'é'.repeat(506)}x`
  addInvalid(
    'bad-subject-too-long-utf8',
    `subject is 1025 UTF-8 bytes but only ${subject.length} UTF-16 code units: the limit counts bytes.`,
    text(await variant({ subject })),
    'bad_subject',
  )
}
addInvalid('bad-object-empty', 'object is the empty string; omit object instead.', text(await variant({ object: '' })), 'bad_object')
addInvalid('bad-object-control', 'object contains a line feed (\\n).', text(await variant({ claim: 'alias', subject: alice.did, object: 'github:alice\nadmin' })), 'bad_object')
addInvalid(
  'bad-object-too-long-astral',
  'object is 256 four-byte emoji and one ASCII byte: 1025 UTF-8 bytes, 513 UTF-16 code units.',
  text(await variant({ claim: 'note', object: `${'🚀'.repeat(256)}x` })),
  'bad_object',
)

// bad_claim
addInvalid('bad-claim-uppercase', 'claim "Source" has an uppercase letter.', text(await variant({ claim: 'Source' })), 'bad_claim')
addInvalid('bad-claim-too-long', 'claim is 65 characters (limit 64).', text(await variant({ claim: 's'.repeat(65) })), 'bad_claim')
addInvalid('bad-claim-empty', 'claim is the empty string.', text(await variant({ claim: '' })), 'bad_claim')
addInvalid('bad-claim-leading-digit', 'claim starts with a digit.', text(await variant({ claim: '1source' })), 'bad_claim')

// bad_hash
addInvalid(
  'bad-hash-wrong-length',
  'object is a sha256 SRI string of 31 bytes.',
  text(await variant({ object: sri('sha256', EMPTY_BYTES.subarray(0, 31)) })),
  'bad_hash',
)
addInvalid('bad-hash-hex-form', 'object is a hash in hex (sha256:…): allowed in URLs, never inside a statement.', text(await variant({ object: `sha256:${hex.encode(EMPTY_BYTES)}` })), 'bad_hash')
addInvalid(
  'bad-hash-base64url-form',
  `object is SRI with the URL-safe alphabet and no padding (${EMPTY.slice(0, 7)}${base64url.encode(EMPTY_BYTES)}): allowed in URLs, never inside a statement.`,
  text(await variant({ object: `sha256-${base64url.encode(EMPTY_BYTES)}` })),
  'bad_hash',
)
addInvalid('bad-hash-unpadded', 'object is SRI in the standard alphabet with its "=" padding removed.', text(await variant({ object: EMPTY.replace(/=+$/, '') })), 'bad_hash')
{
  // 32 bytes are 256 bits in 43 base64 characters (258 bits): the last character's low 2 bits must be zero.
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  const alt = B64[B64.indexOf(EMPTY.at(-2)!) ^ 1]!
  const object = `${EMPTY.slice(0, -2)}${alt}=`
  addInvalid('bad-hash-non-canonical-bits', `object is ${object}: it decodes to the same digest as ${EMPTY} but sets a padding bit, so it is a second spelling.`, text(await variant({ object })), 'bad_hash')
}
addInvalid('bad-hash-in-subject', 'subject is a hex hash (the build workflow, written wrongly).', text(await variant({ subject: `sha256:${hex.encode(EMPTY_BYTES)}`, claim: 'build', object: OUTPUT })), 'bad_hash')

const GIT_TREE = 'gitoid:tree:sha1:4b825dc642cb6eb9a060e54bf8d69288fbee4904'
addInvalid('bad-gitoid-uppercase', 'object is a gitoid with uppercase hex (git accepts it; a statement must have one spelling).', text(await variant({ claim: 'git-tree', object: GIT_TREE.toUpperCase().replace('GITOID:TREE:SHA1:', 'gitoid:tree:sha1:') })), 'bad_hash')
addInvalid('bad-gitoid-abbreviated', 'object is a gitoid with an abbreviated id (7 hex digits, as git log prints).', text(await variant({ claim: 'git-tree', object: GIT_TREE.slice(0, 24) })), 'bad_hash')
addInvalid('bad-gitoid-length-for-format', 'object is a gitoid naming format sha256 with a 40-digit (sha1) id.', text(await variant({ claim: 'git-tree', object: GIT_TREE.replace(':sha1:', ':sha256:') })), 'bad_hash')
addInvalid('bad-gitoid-type', 'object is a gitoid of the unknown type "dir".', text(await variant({ claim: 'git-tree', object: GIT_TREE.replace(':tree:', ':dir:') })), 'bad_hash')
addInvalid('bad-gitoid-uppercase-type', 'object is a gitoid whose type is written "Tree".', text(await variant({ claim: 'git-tree', object: GIT_TREE.replace(':tree:', ':Tree:') })), 'bad_hash')
addInvalid('bad-gitoid-in-subject', 'subject is a gitoid with an extra segment (gitoid:tree:sha1:<hex>:x).', text(await variant({ subject: `${GIT_TREE}:x`, claim: 'review', object: 'pass' })), 'bad_hash')

// bad_did
addInvalid('bad-did-subject-did-web', 'subject is a did:web (trusted-builder claim about a non-key DID).', text(await variant({ subject: 'did:web:example.org', claim: 'trusted-builder', object: undefined })), 'bad_did')
addInvalid('bad-did-object-did-plc', 'object is a did:plc.', text(await variant({ subject: alice.did, claim: 'alias', object: 'did:plc:ewvi7nxzyoun6zhxrhs64oiz' })), 'bad_did')

// bad_not
addInvalid('bad-not-false', 'not is false; a positive claim omits not, so one fact has one encoding.', text(await variant({ not: false })), 'bad_not')
addInvalid('bad-not-string', 'not is the string "true".', text(await variant({ not: 'true' })), 'bad_not')

// bad_time
addInvalid('bad-time-negative', 'time is -1.', text(await variant({ time: -1 })), 'bad_time')
addInvalid('bad-number-time-fraction', 'time is 1.5: numbers with a fraction are refused by the parser.', text(await variant({ time: 1.5 })), 'bad_number')
{
  // Whole numbers written with a fraction or exponent: the same value as a valid statement, so
  // a lenient parser would accept them with the valid statement's id. They must be refused.
  const good = text(await variant({}))
  addInvalid('bad-number-time-exponent', 'time written as 1.777895712055e12 (an exponent).', good.replace(`"time":${T0}`, `"time":${T0 / 1e12}e12`), 'bad_number')
  addInvalid('bad-number-time-dot-zero', 'time written with ".0".', good.replace(`"time":${T0}`, `"time":${T0}.0`), 'bad_number')
  addInvalid('bad-number-version-1e0', 'v written as 1e0.', good.replace('"v":1', '"v":1e0'), 'bad_number')
}
addInvalid('bad-time-string', 'time is a string of digits.', text(await variant({ time: String(T0) })), 'bad_time')
addInvalid('bad-time-null', 'time is null.', text(await variant({ time: null })), 'bad_time')

// future_time
addInvalid(
  'future-time',
  `time is now + 300001 ms, one millisecond beyond the default clock window of ${LIMITS.futureSkewMs} ms; correctly signed.`,
  text(await variant({ time: NOW + LIMITS.futureSkewMs + 1 })),
  'future_time',
)

// bad_meta
addInvalid('bad-meta-array', 'meta is an array.', text(await variant({ meta: ['x86_64-linux'] })), 'bad_meta')
addInvalid('bad-meta-null', 'meta is null.', text(await variant({ meta: null })), 'bad_meta')
addInvalid('bad-number-meta-fraction', 'meta holds a non-integer number (1.5); write it as a string.', text(await variant({ meta: { ratio: 1.5 } })), 'bad_number')
addInvalid('bad-meta-depth-5', 'meta is nested 5 deep (limit 4, meta itself is depth 1); the statement is 6 deep, which the parser still admits.', text(await variant({ meta: { a: { b: { c: { d: {} } } } } })), 'bad_meta')
{
  const meta = { pad: 'm'.repeat(LIMITS.metaBytes + 1 - utf8(canonicalize({ pad: '' })).length) }
  addInvalid('bad-meta-too-large', `meta is ${LIMITS.metaBytes + 1} bytes in canonical form (limit ${LIMITS.metaBytes}).`, text(await variant({ meta })), 'bad_meta')
}

// bad_sig_encoding
addInvalid('bad-sig-padded', 'sig has "==" padding (88 characters).', text(await variant({ sig: `${baseSig}==` })), 'bad_sig_encoding')
addInvalid('bad-sig-too-short', 'sig is 85 characters (last one removed).', text(await variant({ sig: baseSig.slice(0, -1) })), 'bad_sig_encoding')
addInvalid('bad-sig-standard-alphabet', 'sig has a "+" (standard base64 alphabet, not base64url).', text(await variant({ sig: `+${baseSig.slice(1)}` })), 'bad_sig_encoding')
{
  // 86 characters carry 516 bits for 512: the last character's low 4 bits must be zero.
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const sig = baseSig.slice(0, -1) + A[A.indexOf(baseSig.at(-1)!) ^ 1]
  addInvalid('bad-sig-non-canonical-bits', 'sig has a non-zero padding bit in its last character: a second spelling of the same 64 bytes.', text(await variant({ sig })), 'bad_sig_encoding')
}
addInvalid('bad-sig-number', 'sig is a number.', text(await variant({ sig: 0 })), 'bad_sig_encoding')

// bad_signature
{
  const tampered = { ...signedBase, subject: 'pkg:generic/mylib@1.2.4' }
  addInvalid('bad-signature-tampered-subject', 'A valid statement with its subject changed after signing.', text(tampered), 'bad_signature')
}
addInvalid('bad-signature-other-key', "A statement naming alice as actor, signed by another key (seed 06…06).", text(await variant({}, mallory.seed)), 'bad_signature')
{
  const L = 2n ** 252n + 27742317777372353535851937790883648493n
  let s = 0n
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sigBytes[32 + i]!)
  let sl = s + L
  const out = sigBytes.slice()
  for (let i = 0; i < 32; i++, sl >>= 8n) out[32 + i] = Number(sl & 0xffn)
  addInvalid(
    'bad-signature-s-plus-l',
    'The valid signature with L added to S (S + L < 2^256). Non-strict verifiers that reduce S mod L accept it: signature malleability.',
    text(await variant({ sig: base64url.encode(out) })),
    'bad_signature',
  )
}
{
  const out = sigBytes.slice()
  out.set(new Uint8Array(32), 0)
  out[0] = 1
  addInvalid('bad-signature-small-order-r', 'R is the identity point (y = 1, order 1), S as in a valid signature.', text(await variant({ sig: base64url.encode(out) })), 'bad_signature')
}
{
  const out = sigBytes.slice()
  out.set(hex.decode('efffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'), 0)
  addInvalid('bad-signature-non-canonical-r', 'R encodes y = p + 2 (not below p): a non-canonical encoding.', text(await variant({ sig: base64url.encode(out) })), 'bad_signature')
}
addInvalid('bad-signature-all-zero', 'sig is 64 zero bytes (86 "A"s).', text(await variant({ sig: 'A'.repeat(86) })), 'bad_signature')
{
  const { sig: _s, ...body } = await variant({})
  const noPrefix = base64url.encode(await sign(utf8(canonicalize(body)), alice.seed))
  addInvalid('bad-signature-no-prefix', 'Signed over JCS(statement without sig) but without the "vouch-statement-v1\\n" domain prefix.', text({ ...body, sig: noPrefix }), 'bad_signature')
  const notCanonical = base64url.encode(await sign(utf8(SIGNING_PREFIX + JSON.stringify(body)), alice.seed))
  addInvalid(
    'bad-signature-not-canonical',
    'Signed over the prefix and the statement as the client wrote it (JSON.stringify, field order v, actor, subject, …), not its JCS form.',
    text({ ...body, sig: notCanonical }),
    'bad_signature',
  )
  const withSig = base64url.encode(await sign(utf8(SIGNING_PREFIX + canonicalize({ ...body, sig: '' })), alice.seed))
  addInvalid('bad-signature-sig-field-included', 'Signed over JCS of the statement with "sig": "" included instead of removed.', text({ ...body, sig: withSig }), 'bad_signature')
}
{
  // The smallest y whose encoding is not a point on the curve (x^2 has no square root).
  let y = 2
  let enc = new Uint8Array(32)
  for (;; y++) {
    enc = new Uint8Array(32)
    enc[0] = y
    try {
      ed25519.ExtendedPoint.fromHex(enc)
    } catch {
      break
    }
  }
  const actor = encodeDidKey(enc)
  addInvalid(
    'bad-signature-key-not-on-curve',
    `actor's public key encodes y = ${y}, which is not on the curve (no x exists). Canonical and not of small order, so it passes the byte checks; it cannot verify anything.`,
    text(await variant({ actor })),
    'bad_signature',
  )
}

// weak_key
{
  const weak = async (name: string, description: string, keyHex: string, sig?: string) => {
    const actor = encodeDidKey(hex.decode(keyHex))
    addInvalid(name, description, text(await variant({ actor, ...(sig ? { sig } : {}) })), 'weak_key')
  }
  // R = identity, S = 0: with A = identity, [S]B = R + [k]A holds for every message.
  const identityForgery = base64url.encode(Uint8Array.from([1, ...new Uint8Array(63)]))
  await weak(
    'weak-key-identity',
    'actor is the identity point (y = 1, order 1), with R = identity and S = 0: the verification equation holds for EVERY message, so lenient verifiers (OpenSSL, BoringSSL) accept this forgery.',
    '0100000000000000000000000000000000000000000000000000000000000000',
    identityForgery,
  )
  await weak('weak-key-zero', 'actor public key is 32 zero bytes (y = 0, order 4).', '0000000000000000000000000000000000000000000000000000000000000000')
  await weak(
    'weak-key-identity-sign-bit',
    'actor is the identity with the sign bit set (01 00 … 80); small-order checks must ignore the sign bit.',
    '0100000000000000000000000000000000000000000000000000000000000080',
    identityForgery,
  )
  await weak('weak-key-order-8', 'actor is a point of order 8.', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a')
  await weak('weak-key-order-2', 'actor is the point of order 2 (y = p − 1).', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f')
  await weak('weak-key-non-canonical', 'actor encodes y = p + 2, not below p: a non-canonical encoding (and not of small order).', 'efffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f')
}

// too_large
{
  const subject = `pkg:generic/${'a'.repeat(LIMITS.termBytes - 12)}`
  const object = `note:${'o'.repeat(LIMITS.termBytes - 5)}`
  const meta = { pad: 'm'.repeat(LIMITS.metaBytes - utf8(canonicalize({ pad: '' })).length) }
  const s = await variant({ subject, object, meta })
  addInvalid(
    'too-large',
    `subject and object exactly ${LIMITS.termBytes} bytes and meta exactly ${LIMITS.metaBytes} bytes, each within its own limit, but the canonical statement is ${utf8(canonicalize(s)).length} bytes (limit ${LIMITS.statementBytes}); correctly signed.`,
    text(s),
    'too_large',
  )
}

// too_deep (only because the test parses with the body depth, 6)
addInvalid(
  'too-deep-meta',
  'meta nested 6 deep makes the statement 7 deep; the parser (maxDepth 6, the body limit) refuses it before the shape check would.',
  text(await variant({ meta: { a: { b: { c: { d: { e: {} } } } } } })),
  'too_deep',
)

// Strict JSON: cases JSON.parse would let through. Written as raw text.
{
  const s = await variant({ subject: 'pkg:generic/evil@6.6.6' })
  const json = text(s).replace('"subject":', '"subject":"pkg:generic/mylib@1.2.3","subject":')
  addInvalid(
    'duplicate-key-subject',
    'subject appears twice. The signature is valid for the LAST value, so a JSON.parse-based verifier accepts it (as evil@6.6.6) while a first-wins reader shows mylib@1.2.3.',
    json,
    'duplicate_key',
  )
}
{
  const s = await variant({ claim: 'build' })
  const json = text(s).replace('"claim":', '"claim":"source","\\u0063laim":')
  addInvalid('duplicate-key-escaped', 'claim appears twice, the second time spelled "\\u0063laim"; keys are compared after unescaping.', json, 'duplicate_key')
}
{
  const s = await variant({ meta: { system: 'x86_64-linux' } })
  const json = text(s).replace('{"system":', '{"system":"aarch64-darwin","system":')
  addInvalid('duplicate-key-in-meta', 'A key repeated inside meta.', json, 'duplicate_key')
}
{
  const s = await variant({ time: 1234 })
  addInvalid(
    'number-out-of-range-time',
    'time is 9007199254740993 (2^53 + 1), which JSON.parse silently rounds to 2^53.',
    text(s).replace('"time":1234', '"time":9007199254740993'),
    'number_out_of_range',
  )
  const m = await variant({ meta: { n: 1234 } })
  addInvalid('number-out-of-range-meta', 'meta holds -9007199254740992 (−2^53).', text(m).replace('"n":1234', '"n":-9007199254740992'), 'number_out_of_range')
}
{
  const s = await variant({ subject: 'pkg:generic/mylib@1.2.3-LONE' })
  addInvalid('invalid-unicode-subject', 'subject contains the lone high surrogate escape \\ud800.', text(s).replace('-LONE', '\\ud800'), 'invalid_unicode')
  const m = await variant({ meta: { LONE: 'x' } })
  addInvalid('invalid-unicode-meta-key', 'A meta key is the lone low surrogate escape \\udc00.', text(m).replace('"LONE"', '"\\udc00"'), 'invalid_unicode')
  const r = await variant({ claim: 'note', object: 'REVERSED' })
  addInvalid('invalid-unicode-reversed-pair', 'object contains a surrogate pair in the wrong order (\\ude00\\ud83d).', text(r).replace('REVERSED', '\\ude00\\ud83d'), 'invalid_unicode')
}
{
  const full = text(signedBase)
  addInvalid('byte-order-mark', 'The statement preceded by a UTF-8 byte order mark, which senders must not add (RFC 8259 §8.1; PROTOCOL §4).', `\uFEFF${full}`, 'invalid_utf8')
  addInvalid('malformed-json-truncated', 'The statement cut off in the middle of sig.', full.slice(0, full.length - 40), 'malformed_json')
  addInvalid('malformed-json-trailing-comma', 'A trailing comma before the closing brace.', `${full.slice(0, -1)},}`, 'malformed_json')
  addInvalid('malformed-json-two-values', 'Two statements back to back without an array.', `${full}${full}`, 'malformed_json')
  addInvalid('malformed-json-nan', 'time is NaN, which JSON does not have.', full.replace(`"time":${T0}`, '"time":NaN'), 'malformed_json')
  addInvalid('malformed-json-leading-zero', 'time has a leading zero.', full.replace(`"time":${T0}`, `"time":0${T0}`), 'malformed_json')
}

// ---------------------------------------------------------------------------------------------
// Check every invalid vector now, as the test will, and write the file.

const names = new Set<string>()
for (const v of [...valid, ...invalid]) {
  if (names.has(v.name)) throw new Error(`duplicate vector name ${v.name}`)
  names.add(v.name)
}
for (const v of invalid) {
  let code: string | undefined
  try {
    await verifyStatement(parseJsonBytes(utf8(v.json), { maxDepth: MAX_DEPTH }), { now: v.now })
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e
    code = e.code
  }
  if (code !== v.code) throw new Error(`${v.name}: expected ${v.code}, got ${code ?? 'acceptance'}`)
}

const file = {
  description: [
    'vouch protocol v1 statement test vectors (docs/PROTOCOL.md §9). Generated by test/vectors/generate.ts; do not edit by hand.',
    'Keys: seedHex is the 32-byte Ed25519 seed (RFC 8032 secret key) of the actor; signatures are deterministic.',
    'valid: statement is the signed statement as a JSON object; canonical is JCS (RFC 8785) of the signed statement; signingInputHex is the hex of the exact signed bytes, UTF-8(signingPrefix + JCS(statement without sig)); sig is base64url without padding of the Ed25519 signature; id is "sha256-" + base64(SHA-256(UTF-8(canonical))). Each valid statement verifies with now = its own time (or any later time).',
    `invalid: json is the raw text a client would send. A verifier decodes its UTF-8 bytes (no byte order mark) and parses them as strict JSON with nesting limit ${MAX_DEPTH} (the body limit) and then verifies the statement with clock now and the default window of ${LIMITS.futureSkewMs} ms; code is the error code of whichever step refuses it. Where the fault allows, the statement is correctly signed over its own (flawed) content by its actor, so the fault named is the only reason to refuse it.`,
  ].join(' '),
  signingPrefix: SIGNING_PREFIX,
  valid,
  invalid,
}
writeFileSync(OUT, `${JSON.stringify(file, null, 2)}\n`)
console.log(`wrote ${OUT.pathname}: ${valid.length} valid, ${invalid.length} invalid vectors`)
