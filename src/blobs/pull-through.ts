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

/**
 * Where to look and how. The caller decides the sources (which peers are healthy is gossip's
 * knowledge, which caches exist is configuration); blobs only fetch and check.
 */
export interface PullThroughOptions {
  /** Base URLs serving /v1/blobs/<hash>, asked in this order. */
  sources: readonly string[]
  /** A source announcing more bytes than this is skipped. */
  maxBytes: number
  /** The answer must start within this many ms. */
  timeoutMs: number
  /** Sources may be on loopback and private addresses (local development only). */
  allowPrivate: boolean
}

/**
 * Fetches a missing blob from the sources in turn, streaming each answer into R2 under its hash.
 * R2 checks the digest, so a source that serves wrong bytes leaves nothing behind and we try the
 * next one; the caller serves only from R2, so a client can never receive unverified bytes.
 */
export async function pullThrough(bucket: R2Bucket, d: Digest, o: PullThroughOptions): Promise<PullThroughResult> {
  const { maxBytes } = o
  const tried: string[] = []
  const liars: string[] = []
  for (const source of o.sources) {
    const url = `${source}/v1/blobs/${hexForm(d)}`
    tried.push(source)
    try {
      // The answer must start within the peer timeout; the body then has a generous deadline.
      const { res } = await open(url, {
        allowPrivate: o.allowPrivate,
        answerTimeoutMs: o.timeoutMs,
        timeoutMs: BODY_DEADLINE_MS,
        headers: { [PULL_THROUGH_HEADER]: '1' },
        maxBytes,
        requireLength: true, // R2 needs the length, and the runtime holds the body to it
      })
      if (res.status !== 200 || !res.body) {
        await res.body?.cancel().catch(() => {})
        continue
      }
      await putBlob(bucket, d, res.body)
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
