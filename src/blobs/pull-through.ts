import type { RelayEnv } from '../env.ts'
import { getPeerState, listPeers } from '../gossip/index.ts'
import { allowPrivate, peerTimeoutMs } from '../gossip/peers.ts'
import { open } from '../net/index.ts'
import { formatSri, hexForm, type Digest } from '../verify/index.ts'
import { HashMismatch, putBlob } from './store.ts'

/** Marks a relay's own pull-through request; the answering relay serves only what it holds. */
export const PULL_THROUGH_HEADER = 'x-vouch-pull-through'

/** A 100 MiB blob at a slow 1 MB/s still arrives. */
const BODY_DEADLINE_MS = 5 * 60_000

export type PullThroughResult =
  | { status: 'stored'; source: string }
  | { status: 'missing'; tried: string[] }
  | { status: 'mismatch'; liars: string[]; tried: string[] }

/** Where a missing blob may come from: peers, then configured upstream caches. */
export async function blobSources(env: RelayEnv): Promise<string[]> {
  const upstream = (env.UPSTREAM_CACHES ?? '').split(/[\s,]+/).filter(Boolean)
  return [...new Set([...(await listPeers(env)), ...upstream.map((u) => u.replace(/\/+$/, ''))])]
}

/**
 * Fetches a missing blob from the sources in turn, streaming each answer into R2 under its hash.
 * R2 checks the digest, so a source that serves wrong bytes leaves nothing behind and we try the
 * next one; the caller serves only from R2, so a client can never receive unverified bytes.
 */
export async function pullThrough(env: RelayEnv, d: Digest, maxBytes: number): Promise<PullThroughResult> {
  const tried: string[] = []
  const liars: string[] = []
  const now = Date.now()
  for (const source of await blobSources(env)) {
    if ((await getPeerState(env, source)).retryAt > now) continue // backing off
    const url = `${source}/v1/blobs/${hexForm(d)}`
    tried.push(source)
    try {
      // The answer must start within the peer timeout; the body then has a generous deadline.
      const { res } = await open(url, {
        allowPrivate: allowPrivate(env),
        answerTimeoutMs: peerTimeoutMs(env),
        timeoutMs: BODY_DEADLINE_MS,
        headers: { [PULL_THROUGH_HEADER]: '1' },
        maxBytes,
        requireLength: true, // R2 needs the length, and the runtime holds the body to it
      })
      if (res.status !== 200 || !res.body) {
        await res.body?.cancel().catch(() => {})
        continue
      }
      await putBlob(env.BLOBS, d, res.body)
      return { status: 'stored', source }
    } catch (e) {
      if (e instanceof HashMismatch) {
        console.warn(`blob source ${source} served bytes that are not ${formatSri(d)}`)
        liars.push(source)
      } else {
        console.warn(`blob source ${source} failed for ${formatSri(d)}: ${(e as Error).message}`)
      }
    }
  }
  return liars.length ? { status: 'mismatch', liars, tried } : { status: 'missing', tried }
}
