import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import type { RelayEnv } from '../../src/config.ts'
import worker from '../../src/index.ts'
import { makeStatement, testKey } from '../helpers.ts'

/**
 * Workers cancel a request's pending I/O when its client disconnects. An ingest cut after DB's
 * commit would leave the index shards unwritten (INDEX_SHARDS > 1: the watermark then holds every
 * later statement out of term queries until the cron's repair) or the quota use uncounted, at a
 * moment the client picks. So the routes that ingest hand the whole ingest to `waitUntil`.
 */
function recordingCtx(): { ctx: ExecutionContext; kept: Promise<unknown>[] } {
  const kept: Promise<unknown>[] = []
  const ctx = { waitUntil: (p: Promise<unknown>) => void kept.push(p), passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext
  return { ctx, kept }
}

const isIngestResult = (v: unknown): v is { accepted: number } => typeof v === 'object' && v !== null && 'results' in v && 'fresh' in v

describe('an ingest outlives its client', () => {
  it('POST /v1/statements hands the ingest itself to waitUntil, and it resolves to what the client was told', async () => {
    const st = await makeStatement(await testKey(71), { subject: 'pkg:generic/outlive@1.0.0', time: Date.now() })
    const { ctx, kept } = recordingCtx()
    const res = await worker.fetch(new Request('http://relay.test/v1/statements', { method: 'POST', body: JSON.stringify(st), headers: { 'content-type': 'application/json' } }), env as unknown as RelayEnv, ctx)
    expect(res.status).toBe(200)
    const ingests = (await Promise.all(kept)).filter(isIngestResult)
    expect(ingests).toHaveLength(1)
    expect(ingests[0]!.accepted).toBe(1)
  })

  it('a refused POST still answers 4xx, and the ingest kept alive for it stored nothing', async () => {
    const { ctx, kept } = recordingCtx()
    const res = await worker.fetch(new Request('http://relay.test/v1/statements', { method: 'POST', body: '{"not":"a statement"}', headers: { 'content-type': 'application/json' } }), env as unknown as RelayEnv, ctx)
    expect(res.status).toBeGreaterThanOrEqual(400)
    expect(res.status).toBeLessThan(500)
    const ingests = (await Promise.all(kept)).filter(isIngestResult)
    expect(ingests.every((r) => r.accepted === 0)).toBe(true)
  })
})
