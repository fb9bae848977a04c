import { createRouter } from '../app.ts'
import { getPeerState, listManagedPeers, listPeers, normalizePeerUrl, pullAll, selfUrl, setManagedPeers } from '../gossip/index.ts'
import { readJsonBody } from '../http/body.ts'
import { ApiError } from '../http/errors.ts'
import { isOperator } from '../http/auth.ts'

/** Operator endpoints, behind `Authorization: Bearer <ADMIN_TOKEN>`; off when no token is set. */
export const admin = createRouter()

admin.use('*', async (c, next) => {
  const token = c.var.config.adminToken
  if (!token) throw new ApiError(404, 'admin_disabled', 'admin endpoints are off: set the ADMIN_TOKEN secret to enable them')
  if (!(await isOperator(token, c.req.header('authorization')))) throw new ApiError(401, 'unauthorized', 'send Authorization: Bearer <ADMIN_TOKEN>')
  await next()
})

admin.get('/peers', async (c) => {
  const env = c.env
  const peers = await listPeers(env)
  return c.json({ peers: await Promise.all(peers.map(async (url) => ({ url, ...(await getPeerState(env, url)) }))), managed: await listManagedPeers(env) })
})

/** Replaces the admin-managed peer list (peers from the PEERS variable stay). */
admin.put('/peers', async (c) => {
  const env = c.env
  const body = await readJsonBody(c, 65_536, 3)
  const list = (body as { peers?: unknown })?.peers
  if (!Array.isArray(list) || list.length > 100 || !list.every((p) => typeof p === 'string')) {
    throw new ApiError(400, 'bad_peers', 'send {"peers": ["https://relay.example", …]} (at most 100)')
  }
  const peers: string[] = []
  for (const p of list as string[]) {
    try {
      peers.push(normalizePeerUrl(p, c.var.config.allowPrivatePeers))
    } catch (e) {
      throw new ApiError(400, 'bad_peer_url', `${JSON.stringify(p)}: ${(e as Error).message}`)
    }
  }
  const self = selfUrl(env, c.req.url)
  if (self && peers.includes(self)) throw new ApiError(400, 'bad_peer_url', 'a relay cannot peer with itself')
  await setManagedPeers(env, [...new Set(peers)])
  return c.json({ peers: await listPeers(env) })
})

/** Runs one pull round now (the cron does this every minute) and reports it. */
admin.post('/pull', async (c) => {
  const env = c.env
  return c.json({ reports: await pullAll(env, selfUrl(env, c.req.url)) })
})
