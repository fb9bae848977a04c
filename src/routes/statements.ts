import { readJsonBody } from '../http/body.ts'
import { ApiError } from '../http/errors.ts'
import { createRouter } from '../app.ts'
import { afterAccept, receivedPush, SEEN_HEADER, selfUrl } from '../gossip/index.ts'
import { ingest } from '../store/ingest.ts'
import { bodiesOf, getStatement, queryStatements } from '../store/statements.ts'
import { LIMITS, type Json } from '../verify/index.ts'
import { jsonResponse, pageJson } from './json.ts'
import { checkKnownParams, parseActorParam, parseCursor, parseLimit, parseStatementId, parseTermParam } from './params.ts'

export const statements = createRouter()

statements.post('/', async (c) => {
  const body = await readJsonBody(c, LIMITS.bodyBytes, LIMITS.bodyDepth, LIMITS.bodyMembers)
  const items: Json[] = Array.isArray(body) ? body : [body]
  if (Array.isArray(body) && body.length === 0) throw new ApiError(400, 'empty_batch', 'the batch has no statements')
  if (items.length > LIMITS.batchItems) {
    throw new ApiError(413, 'too_many_items', `a batch holds at most ${LIMITS.batchItems} statements; got ${items.length}`)
  }
  const { fresh, ...summary } = await ingest(c.env.DB, items, { now: Date.now(), skewMs: c.var.config.futureSkewMs })
  const seenHeader = c.req.header(SEEN_HEADER)
  if (seenHeader !== undefined) receivedPush(seenHeader, summary.results.flatMap((r) => ('id' in r ? [r.id] : [])), items.length, fresh.length)
  if (fresh.length) c.executionCtx.waitUntil(afterAccept(c.env, fresh, { seenHeader, self: selfUrl(c.env, c.req.url) }))
  const { results } = summary
  if (summary.rejected === results.length) {
    const only = results.length === 1 && results[0]!.status === 'rejected' ? results[0]!.error : undefined
    return c.json({ error: only ?? { code: 'all_rejected', message: 'every statement in the batch was rejected' }, ...summary }, 422)
  }
  return c.json(summary, 200)
})

/** Bodies for a list of ids (at most 1000): how a peer fetches just the statements it lacks. */
statements.post('/lookup', async (c) => {
  const body = await readJsonBody(c, 128 * 1024, 3)
  const list = (body as { ids?: unknown } | null)?.ids
  if (typeof body !== 'object' || body === null || Array.isArray(body) || Object.keys(body).some((k) => k !== 'ids') || !Array.isArray(list)) {
    throw new ApiError(400, 'bad_lookup', 'send {"ids": ["sha256-…", …]}')
  }
  if (list.length > LIMITS.pageMax) throw new ApiError(413, 'too_many_items', `at most ${LIMITS.pageMax} ids`)
  const ids = list.map((v) => {
    if (typeof v !== 'string') throw new ApiError(400, 'bad_id', 'ids are strings')
    return parseStatementId(v)
  })
  const rows = await bodiesOf(c.env.DB, [...new Set(ids)])
  return jsonResponse(pageJson(rows, null))
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
  const page = await queryStatements(c.env.DB, filter, parseCursor(q.cursor, 'cursor'), parseLimit(q.limit))
  return jsonResponse(pageJson(page.rows, page.next === undefined ? null : String(page.next)))
})

statements.get('/:id{.+}', async (c) => {
  const id = parseStatementId(c.req.param('id'))
  const body = await getStatement(c.env.DB, c.env.CACHE, id, (p) => c.executionCtx.waitUntil(p))
  if (body === undefined) throw new ApiError(404, 'not_found', `no statement ${id} on this relay`)
  return jsonResponse(body, 200, {
    'cache-control': 'public, max-age=31536000, immutable',
    etag: `"${id}"`,
  })
})
