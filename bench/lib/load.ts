import { Agent, request } from 'node:http'
import { clientIpHeader } from './client-ip.ts'

/**
 * A small closed-loop load generator on node:http with keep-alive: `concurrency` workers each
 * send their next request as soon as the previous answer is read. Bodies are serialised before
 * the clock starts, so the client spends little CPU on the two shared cores.
 */

export interface Req {
  method: 'GET' | 'POST'
  path: string
  body?: Buffer
}

export interface Res {
  status: number
  body: string
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`HTTP ${status}: ${body.slice(0, 300)}`)
  }
}

export interface LoadResult {
  wallMs: number
  /** Per-request latency in ms, in completion order. */
  latencies: number[]
  responses: Res[]
}

export function makeClient(base: URL, maxSockets: number) {
  const agent = new Agent({ keepAlive: true, maxSockets })
  const send = (r: Req): Promise<Res> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = clientIpHeader()
      if (r.body) headers['content-type'] = 'application/json', headers['content-length'] = r.body.length
      const req = request(new URL(r.path, base), { method: r.method, agent, headers }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end(r.body)
    })

  async function load(reqs: Req[], concurrency: number, keep = true): Promise<LoadResult> {
    const latencies: number[] = []
    const responses: Res[] = new Array(reqs.length)
    let next = 0
    const t0 = performance.now()
    const lane = async () => {
      while (next < reqs.length) {
        const i = next++
        const s = performance.now()
        const res = await send(reqs[i]!)
        latencies.push(performance.now() - s)
        if (keep) responses[i] = res
        else if (res.status !== 200) throw new HttpError(res.status, res.body)
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, reqs.length) }, lane))
    return { wallMs: performance.now() - t0, latencies, responses }
  }

  return { send, load, close: () => agent.destroy() }
}
