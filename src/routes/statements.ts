import { readJsonBody } from '../http/body.ts'
import { ApiError } from '../http/errors.ts'
import { outliveClient } from '../http/guards.ts'
import { createRouter } from '../app.ts'
import { afterAccept, receivedPush, SEEN_HEADER, selfUrl, stats } from '../gossip/index.ts'
import { NOT_ADMITTED, QUOTA_EXCEEDED, secondsToNextDay } from '../store/gate.ts'
import { r2EvidenceReader } from '../store/evidence.ts'
import { ingest } from '../store/ingest.ts'
import { bodiesOf, getStatementRow, queryByTerms, queryStatements } from '../store/statements.ts'
import { EVIDENCE_LIMITS, LIMITS, type Json } from '../verify/index.ts'
import { jsonResponse, LEAF_HEADER, pageJson } from './json.ts'
import { parseBulkQuery } from './bulk.ts'
import { checkKnownParams, parseActorParam, pageLimit, parseCursor, parseStatementId, parseTermParam } from './params.ts'

export const statements = createRouter()

statements.post('/', async (c) => {
  const body = await readJsonBody(c, LIMITS.bodyBytes, LIMITS.bodyDepth, LIMITS.bodyMembers)
  const items: Json[] = Array.isArray(body) ? body : [body]
  if (Array.isArray(body) && body.length === 0) throw new ApiError(400, 'empty_batch', 'the batch has no statements')
  // The relay's own cap (from its CPU budget, advertised at /.well-known/vouch), at most the protocol's.
  const cap = c.var.config.batchItems
  if (items.length > cap) {
    stats.overCap++
    throw new ApiError(413, 'too_many_items', `a batch holds at most ${cap} statements on this relay; got ${items.length}`)
  }
  const now = Date.now()
  const peer = c.var.peer
  const { fresh, ...summary } = await outliveClient(c, ingest(c.env.DB, items, {
    now,
    skewMs: c.var.config.futureSkewMs,
    origin: peer === undefined ? { kind: 'client' } : { kind: 'peer', peer },
    gate: c.var.config,
    readEvidenceBlob: r2EvidenceReader(c.env.BLOBS, EVIDENCE_LIMITS.blobBytes),
  }))
  const seenHeader = c.req.header(SEEN_HEADER)
  if (seenHeader !== undefined) receivedPush(seenHeader, summary.results.flatMap((r) => (r.status !== 'rejected' ? [r.id] : [])), items.length, fresh.length)
  if (fresh.length) c.executionCtx.waitUntil(afterAccept(c.env, fresh, { seenHeader, self: selfUrl(c.env, c.req.url) }))
  const { results } = summary
  const refusedFor = (code: string) => results.filter((r) => r.status === 'rejected' && r.error.code === code).length
  if (summary.accepted + summary.duplicate === 0 && refusedFor(QUOTA_EXCEEDED) > 0) {
    // Nothing got in and waiting would help: say how long, and which limit.
    const quota = peer === undefined ? c.var.config.quotaStatementsPerDay : c.var.config.peerStatementsPerDay
    const limit = peer === undefined ? 'statementsPerDay' : 'peerStatementsPerDay'
    const retryAfter = secondsToNextDay(now)
    return c.json(
      { error: { code: QUOTA_EXCEEDED, message: `quota exceeded: ${quota} statements per ${peer === undefined ? 'actor' : 'peer'} per UTC day; retry after ${retryAfter} s` }, limit, ...summary },
      429,
      { 'retry-after': String(retryAfter) },
    )
  }
  if (refusedFor(NOT_ADMITTED) === results.length) {
    return c.json({ error: { code: NOT_ADMITTED, message: `this relay's admission is "${c.var.config.admission}": it does not take statements from these keys` }, ...summary }, 403)
  }
  if (summary.rejected === results.length) {
    const only = results.length === 1 && results[0]!.status === 'rejected' ? results[0]!.error : undefined
    return c.json({ error: only ?? { code: 'all_rejected', message: 'every statement in the batch was rejected' }, ...summary }, 422)
  }
  return c.json(summary, 200)
})

/** Bodies for a list of ids (at most the relay's `pageMax`): how a peer fetches just the statements it lacks. */
statements.post('/lookup', async (c) => {
  const body = await readJsonBody(c, 128 * 1024, 3)
  const list = (body as { ids?: unknown } | null)?.ids
  if (typeof body !== 'object' || body === null || Array.isArray(body) || Object.keys(body).some((k) => k !== 'ids') || !Array.isArray(list)) {
    throw new ApiError(400, 'bad_lookup', 'send {"ids": ["sha256-…", …]}')
  }
  if (list.length > c.var.config.pageMax) {
    stats.overCap++
    throw new ApiError(413, 'too_many_items', `at most ${c.var.config.pageMax} ids on this relay; got ${list.length}`)
  }
  const ids = list.map((v) => {
    if (typeof v !== 'string') throw new ApiError(400, 'bad_id', 'ids are strings')
    return parseStatementId(v)
  })
  const rows = await bodiesOf(c.env.DB, [...new Set(ids)])
  return jsonResponse(pageJson(rows, null))
})

/** Statements about many subjects (and objects) at once (a lockfile): one indexed query, paged like §6.3. */
statements.post('/bulk', async (c) => {
  const q = parseBulkQuery(await readJsonBody(c, LIMITS.bodyBytes, 3, LIMITS.bodyMembers), c.var.config.pageMax)
  const page = await queryByTerms(c.env.DB, q.subjects, q.objects, q.claims, q.after, q.limit)
  const cursor = page.next === undefined ? null : String(page.next)
  return jsonResponse(pageJson(page.rows, cursor, `,"truncated":${cursor !== null}`))
})

statements.get('/', async (c) => {
  const q = checkKnownParams(c.req.queries(), ['subject', 'claim', 'object', 'actor', 'limit', 'cursor'])
  const filter = {
    subject: parseTermParam(q.subject, 'subject'),
    claim: q.claim,
    object: parseTermParam(q.object, 'object'),
    actor: parseActorParam(q.actor),
  }
  if (!filter.subject && !filter.claim && !filter.object && !filter.actor) {
    throw new ApiError(400, 'no_filter', 'give at least one of subject, claim, object, actor; use /v1/feed to read everything')
  }
  const page = await queryStatements(c.env.DB, filter, parseCursor(q.cursor, 'cursor'), pageLimit(q.limit, c.var.config.pageMax))
  return jsonResponse(pageJson(page.rows, page.next === undefined ? null : String(page.next)))
})

statements.get('/:id{.+}', async (c) => {
  const id = parseStatementId(c.req.param('id'))
  const row = await getStatementRow(c.env.DB, c.env.CACHE, id, (p) => c.executionCtx.waitUntil(p))
  if (row === undefined) throw new ApiError(404, 'not_found', `no statement ${id} on this relay`)
  // The leaf index travels in a header: the body is the statement itself, which has no room for it.
  // It is as immutable as the body (one relay's log never renumbers), so the cache headers stand.
  return jsonResponse(row.body, 200, {
    'cache-control': 'public, max-age=31536000, immutable',
    etag: `"${id}"`,
    [LEAF_HEADER]: String(row.seq - 1),
  })
})
