import { createRouter } from '../app.ts'
import { queryStatements } from '../store/statements.ts'
import { checkKnownParams, parseCursor, parseLimit } from './params.ts'
import { jsonResponse, pageJson } from './statements.ts'

/**
 * Everything this relay holds, in arrival order, for peers and mirrors. The returned cursor is
 * always where to resume (even when the page is empty); `more` says whether to ask again now.
 */
export const feed = createRouter()

feed.get('/', async (c) => {
  const q = checkKnownParams(c.req.queries(), ['after', 'limit'])
  const after = parseCursor(q.after, 'after')
  const page = await queryStatements(c.env.DB, {}, after, parseLimit(q.limit))
  const last = page.rows.length ? page.rows[page.rows.length - 1]!.seq : after
  return jsonResponse(pageJson(page.rows, String(last), `,"more":${page.next !== undefined}`))
})
