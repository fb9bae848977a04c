/**
 * Writes test/vectors/upload/with-statement.json: a blob upload that carries its statement
 * (docs/PROTOCOL.md §6.8, `Vouch-Statement`). Deterministic: a fixed key (seed 32 × 0x2a), time
 * and content. Regenerate with `node --import tsx test/vectors/upload/generate.ts`.
 */
import { writeFileSync } from 'node:fs'
import { base64url, encodeDidKey, formatSri, hex, hexForm, keyPairFromSeed, sha256, signStatement, utf8, verifyStatement } from '../../../src/verify/index.ts'

const key = await keyPairFromSeed(new Uint8Array(32).fill(0x2a))
const content = utf8('hello, vouch\n')
const d = await sha256(content)
const statement = await signStatement(
  { v: 1, actor: encodeDidKey(key.publicKey), subject: 'pkg:generic/upload-vector@1.0.0', claim: 'source', object: formatSri(d), time: 1_790_000_000_000, meta: { format: 'file' } },
  key.secretKey,
)
const v = await verifyStatement(statement, { now: 1_790_000_000_000 })
const vector = {
  description: 'PUT /v1/blobs/{path} with Content-Length and Vouch-Statement: the relay stores the statement and the content together (201), and answers the statement id',
  content_hex: hex.encode(content),
  path: hexForm(d),
  canonical: v.canonical,
  header: base64url.encode(utf8(v.canonical)),
  id: v.id,
  response: { status: 201, body: { hash: formatSri(d), size: content.length, status: 'stored', statement: { id: v.id, status: 'accepted' } } },
}
writeFileSync(new URL('./with-statement.json', import.meta.url), `${JSON.stringify(vector, null, 2)}\n`)
