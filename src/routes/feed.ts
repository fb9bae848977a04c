import { createRouter } from '../app.ts'
import { ApiError } from '../http/errors.ts'
import { feedIds, queryStatements } from '../store/statements.ts'
import { checkKnownParams, pageLimit, parseCursor } from './params.ts'
import { jsonResponse, pageJson } from './json.ts'

/**
 * Everything this relay holds, in arrival order, for peers and mirrors. The returned cursor is
 * always where to resume (even when the page is empty); `more` says whether to ask again now.
 */
export const feed = createRouter()

feed.get('/', async (c) => {
  const q = checkKnownParams(c.req.queries(), ['after', 'limit', 'view'])
  const after = parseCursor(q.after, 'after')
  const limit = pageLimit(q.limit, c.var.config.pageMax)
  if (q.view !== undefined && q.view !== 'ids' && q.view !== 'full') throw new ApiError(400, 'bad_parameter', 'view is "full" (default) or "ids"')
  if (q.view === 'ids') {
    // Ids only (~50 bytes a statement instead of ~400): a peer asks for the bodies it lacks.
    const { ids, more } = await feedIds(c.env.DB, after, limit)
    const last = ids.length ? ids[ids.length - 1]!.seq : after
    return c.json({ ids: ids.map((r) => r.id), cursor: String(last), more })
  }
  const page = await queryStatements(c.env.DB, {}, after, limit)
  const last = page.rows.length ? page.rows[page.rows.length - 1]!.seq : after
  return jsonResponse(pageJson(page.rows, String(last), `,"more":${page.next !== undefined}`))
})
