import { DEFAULT_BLOB_MAX_BYTES, hasBlob, relayInfo, uploadBlob, type PresenceReport, type UploadReport } from '../client/index.ts'
import type { Context } from './context.ts'
import { CliError, EXIT } from './errors.ts'
import type { Content } from './local-content.ts'
import { bytes } from './output.ts'

export { hashContent, type Content } from './local-content.ts'

/**
 * Which relays hold the content already. Asked before the statement naming it is published:
 * a relay asked afterwards about a blob it lacks first looks for it at its peers.
 */
export async function presence(ctx: Context, relays: string[], content: Content): Promise<PresenceReport[]> {
  return hasBlob(relays, content.hash, { timeoutMs: ctx.timeoutMs })
}

/**
 * What must hold before anything is signed or sent. Every relay is asked what it is first: a URL
 * that is not a vouch relay (an HTML page answers 200 to anything, a HEAD included) is refused.
 * Then content larger than a relay that lacks it will store (its advertised `limits.blobBytes`;
 * the default when it names none) is refused too: otherwise the statement would go out, the
 * upload come back 413, and the network would name content no relay holds. Unreachable relays
 * are left to the publish, which reports them. Returns which relays hold the content already.
 */
export async function readyToPublish(ctx: Context, relays: string[], content: Content): Promise<PresenceReport[]> {
  const infos = await relayInfo(relays, { timeoutMs: ctx.timeoutMs })
  const strangers = infos.filter((i) => i.problem?.code === 'not_a_relay')
  if (strangers.length) {
    throw new CliError(EXIT.usage, 'not_a_relay', `${strangers.map((i) => i.problem!.message).join('; ')}; nothing was published`, 'check the URL (`vouch relay list`); a relay answers /.well-known/vouch')
  }
  const present = await presence(ctx, relays, content)
  const held = new Set(present.filter((p) => p.present).map((p) => p.relay))
  const limitOf = (i: (typeof infos)[number]) => i.info?.blobBytes ?? DEFAULT_BLOB_MAX_BYTES
  const small = infos.filter((i) => i.ok && !held.has(i.relay) && limitOf(i) < content.size)
  if (small.length === 0) return present
  const fits = relays.filter((r) => !small.some((i) => i.relay === r))
  throw new CliError(
    EXIT.verification,
    'too_large',
    `the content is ${bytes(content.size)} (${content.size} bytes), more than ${small.map((i) => `${i.relay} stores (${limitOf(i)} bytes${i.info?.blobBytes === undefined ? ', the default; it names no limit' : ''})`).join(', ')}; nothing was published: no statement, no content`,
    fits.length
      ? `publish to the relays that take it (${fits.map((r) => `--relay ${r}`).join(' ')}), or sign the claim alone with --no-upload and serve the content elsewhere`
      : 'sign the claim alone with --no-upload and serve the content elsewhere, or ask a relay operator to raise BLOB_MAX_BYTES',
  )
}

/**
 * Uploads content to the relays that took its statement and lack it, with one progress bar for
 * all. Relays that fail are warnings; if every one fails, the statement is out but the bytes are
 * not, which is a network failure the user can retry.
 */
export async function uploadContent(ctx: Context, relays: string[], content: Content, present: PresenceReport[]): Promise<UploadReport[]> {
  const held = new Set(present.filter((p) => p.present).map((p) => p.relay))
  const missing = relays.filter((r) => !held.has(r))
  const done: UploadReport[] = relays.filter((r) => held.has(r)).map((relay) => ({ relay, ok: true, status: 'exists' }))
  if (missing.length === 0) return done
  const total = content.size * missing.length
  const sent = new Map<string, number>()
  const bar = ctx.out.progress(`uploading to ${missing.length} relay${missing.length === 1 ? '' : 's'}`, total)
  const reports = await uploadBlob(missing, content.hash, content.body, {
    unchecked: true,
    timeoutMs: Math.max(ctx.timeoutMs, 30_000),
    maxBytes: content.size,
    onProgress: (p) => {
      sent.set(p.relay, p.bytes)
      bar.update([...sent.values()].reduce((a, b) => a + b, 0))
    },
  }).finally(() => bar.done())
  for (const r of reports) {
    if (r.problem?.code === 'hash_mismatch') r.problem.message += ` (did ${content.path} change while it was uploaded?)`
  }
  ctx.warnRelays(reports)
  if (!reports.some((r) => r.ok) && done.length === 0) {
    const why = [...new Set(reports.map((r) => r.problem?.code).filter(Boolean))].join(', ')
    const lasting = reports.some((r) => r.problem?.kind === 'http' && r.problem.status !== undefined && r.problem.status < 500 && r.problem.status !== 408 && r.problem.status !== 429)
    throw new CliError(
      EXIT.network,
      'upload_failed',
      `the statement is published on ${relays.join(', ')}, but none of them took the ${bytes(content.size)} of content (${why}): it names content no relay holds`,
      lasting
        ? 'the relays refused the content (see the warnings), so running the same command again will fail the same way; `vouch yank NAME@VERSION HASH` withdraws the claim'
        : 'running the same command again re-signs the same claim and retries the upload, skipping relays that hold the content',
    )
  }
  return [...done, ...reports]
}
