import { createRouter } from '../app.ts'
import { readBodyBytes } from '../http/body.ts'
import { ApiError } from '../http/errors.ts'
import { ADD_CHECKPOINT_MAX_BYTES, decodeStrictUtf8, hex, sha256, utf8 } from '../verify/index.ts'
import { addCheckpoint, witnessedLogs, witnessIdentity, witnessRecord } from '../witness/index.ts'

/**
 * The relay as a C2SP tlog-witness for its peers' logs (PROTOCOL §6.11). Anyone may submit, as the
 * spec intends: a submission costs one Ed25519 verify and one proof check, is rate limited like any
 * request, and can only advance the record along a consistent history (D1 compare-and-swap), so a
 * stranger can at most make the witness cosign its peers' real checkpoints sooner.
 */
export const witness = createRouter()

witness.use(async (c, next) => {
  if (!(await witnessIdentity(c.env, c.req.url))) throw new ApiError(404, 'no_witness', 'this relay runs no witness: WITNESS is "off" or it has no RELAY_KEY')
  await next()
})

witness.post('/add-checkpoint', async (c) => {
  const me = (await witnessIdentity(c.env, c.req.url))!
  const text = decodeStrictUtf8(await readBodyBytes(c, ADD_CHECKPOINT_MAX_BYTES))
  if (text === undefined) throw new ApiError(400, 'invalid_utf8', 'body is not valid UTF-8')
  const r = await addCheckpoint(c.env, me, text, Date.now())
  if (r.status === 200) return c.body(r.lines, 200, { 'content-type': 'text/plain; charset=utf-8' })
  // tlog-witness fixes this body and type: the size the witness last cosigned, so the log can retry from it.
  if (r.status === 409) return c.body(`${r.size}\n`, 409, { 'content-type': 'text/x.tlog.size' })
  throw new ApiError(r.status, r.code, r.message)
})

/** tlog-witness' monitoring endpoint: the latest checkpoint cosigned for the log whose origin hashes to this. */
witness.get('/:originHash{[0-9a-f]+}/checkpoint', async (c) => {
  const want = c.req.param('originHash')
  if (!/^[0-9a-f]{64}$/.test(want)) throw new ApiError(400, 'bad_origin_hash', 'the origin hash is the SHA-256 of the origin in 64 lowercase hex digits')
  for (const origin of (await witnessedLogs(c.env)).keys()) {
    if (hex.encode((await sha256(utf8(origin))).bytes) !== want) continue
    const r = await witnessRecord(c.env.DB, origin)
    if (r) return c.body(r.note + r.cosig, 200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'public, max-age=60' })
  }
  throw new ApiError(404, 'not_cosigned', 'this witness has cosigned no checkpoint of that log')
})
