import { existsSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LogChecker, proveTimeBound, witnessBelief } from '../../src/client/index.ts'
import { parseCosignerKey, type CosignerKey } from '../../src/verify/index.ts'
import { buildTimeBoundVectors } from '../vectors/timebound/build.ts'
import vectors from '../vectors/timebound/bounds.json'
import proofs from '../vectors/log/proofs.json'

/**
 * test/vectors/timebound (PROTOCOL §6.13): the fixed log's files served as a relay on loopback,
 * each case's witnessed checkpoint at /v1/log/witnessed, and the client's bound compared with the
 * expected one. The file is also rebuilt here, so it cannot drift from its generator.
 */
const LOG = join(import.meta.dirname, '../vectors/log')
let server: Server
let url: string
let witnessed = ''

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname
    if (path === '/.well-known/vouch') return res.writeHead(200).end(JSON.stringify({ log: { origin: proofs.origin, verifierKey: proofs.verifierKey, prefix: '/v1/log' } }))
    if (path === '/v1/log/witnessed') return res.writeHead(200).end(witnessed)
    const file = join(LOG, path.slice('/v1/log/'.length))
    if (path.startsWith('/v1/log/') && !path.includes('..') && existsSync(file)) return res.writeHead(200).end(readFileSync(file))
    res.writeHead(404).end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(() => new Promise<void>((r) => server.close(() => r())))

describe('time bound vectors', () => {
  it('bounds.json is what its generator writes', () => {
    expect(readFileSync(join(import.meta.dirname, '../vectors/timebound/bounds.json'), 'utf8')).toBe(buildTimeBoundVectors())
  })

  it.each(vectors.cases.map((c, i) => [i, c] as const))('case %i', async (_, c) => {
    witnessed = c.witnessed
    const log = new LogChecker()
    // The leaf is in the relay's current checkpoint (300 leaves), as a command's reads prove first.
    expect((await log.check(url, [{ index: c.leaf, canonical: c.entry }])).verdicts).toEqual([undefined])
    const witnesses = c.witnesses.map((w) => parseCosignerKey(w) as CosignerKey)
    const r = await proveTimeBound(log, url, { index: c.leaf, canonical: c.entry }, { witnesses, k: c.k, now: () => 1_800_000_000_000 })
    if ('bound' in c) expect(r).toEqual({ ...c.bound, relay: url, note: c.witnessed, index: c.leaf })
    else expect(r).toMatchObject({ code: c.none })
  })

  it.each(vectors.cases.map((c, i) => [i, c] as const))('case %i under a witness requirement: only the latest witnessed prefix counts (§6.11)', async (_, c) => {
    witnessed = c.witnessed
    const log = new LogChecker({ believe: witnessBelief({ witnesses: c.witnesses, k: c.k }, () => 1_800_000_000_000) })
    const { verdicts } = await log.check(url, [{ index: c.leaf, canonical: c.entry }])
    expect(verdicts[0]?.code ?? 'counts').toBe(c.prefix)
  })
})
