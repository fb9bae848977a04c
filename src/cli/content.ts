import { ClientError, DEFAULT_BLOB_MAX_BYTES, hasBlob, publish, relayInfo, uploadBlob, type PresenceReport, type PublishReport, type PublishResult, type RelayReport, type UploadReport } from '../client/index.ts'
import type { VerifiedStatement } from '../verify/index.ts'
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

/** One relay's share of publishing a statement with the content it names. */
export interface ContentReport extends RelayReport {
  /** What the relay did with the statement, when it holds it now. */
  statement?: 'accepted' | 'duplicate'
  /** `stored`: the content was sent and kept; `exists`: the relay held it already. */
  content?: 'stored' | 'exists'
}

/**
 * Publishes one signed statement naming `content` together with the content (PROTOCOL §6.8):
 * a relay that holds the content gets the statement alone; every other relay gets one upload
 * carrying the statement, which it stores with the bytes or not at all. So a relay that refuses
 * the content (too large, hash mismatch, quota) holds no statement naming it, and running the
 * same command again is harmless. Quorum counts relays that hold both.
 */
export async function publishWithContent(ctx: Context, statement: VerifiedStatement, content: Content, present: PresenceReport[]): Promise<ContentReport[]> {
  const relays = await ctx.relays()
  const quorum = await ctx.quorum(relays.length)
  const held = relays.filter((r) => present.some((p) => p.relay === r && p.present))
  const missing = relays.filter((r) => !held.includes(r))
  const posted: ContentReport[] = held.length
    ? await publish(held, [statement], { timeoutMs: ctx.timeoutMs }).then(
        (r) => r.relays,
        (e: unknown) => {
          if (e instanceof ClientError) return e.reports as PublishReport[]
          throw e
        },
      ).then((reports) => reports.map((r) => ({ relay: r.relay, ok: r.ok, ...(r.ok && { statement: r.results?.[0]?.status as 'accepted' | 'duplicate', content: 'exists' as const }), ...(r.problem && { problem: r.problem }) })))
    : []
  let uploaded: UploadReport[] = []
  if (missing.length) {
    const sent = new Map<string, number>()
    const bar = ctx.out.progress(`uploading to ${missing.length} relay${missing.length === 1 ? '' : 's'}`, content.size * missing.length)
    uploaded = await uploadBlob(missing, content.hash, content.body, {
      statement: { id: statement.id, canonical: statement.canonical },
      timeoutMs: Math.max(ctx.timeoutMs, 30_000),
      maxBytes: content.size,
      onProgress: (p) => {
        sent.set(p.relay, p.bytes)
        bar.update([...sent.values()].reduce((a, b) => a + b, 0))
      },
    }).finally(() => bar.done())
    for (const r of uploaded) if (r.problem?.code === 'hash_mismatch') r.problem.message += ` (did ${content.path} change while it was uploaded?)`
  }
  const reports: ContentReport[] = [...posted, ...uploaded.map((u) => ({ relay: u.relay, ok: u.ok, ...(u.ok && { statement: u.statement, content: u.status }), ...(u.problem && { problem: u.problem }) }))]
  reports.sort((a, b) => relays.indexOf(a.relay) - relays.indexOf(b.relay))
  ctx.warnRelays(reports)
  const landed = reports.filter((r) => r.ok).map((r) => r.relay)
  if (landed.length >= quorum) return reports
  const refused = reports.filter((r) => r.problem?.kind === 'http' && r.problem.status !== undefined && r.problem.status < 500 && r.problem.status !== 408 && r.problem.status !== 429)
  const why = [...new Set(reports.map((r) => r.problem?.code).filter(Boolean))].join(', ')
  if (landed.length === 0) {
    throw new CliError(
      refused.length === reports.length ? EXIT.verification : EXIT.network,
      refused.length === reports.length ? 'rejected' : 'unreachable',
      `no relay took the statement with its ${bytes(content.size)} of content (${why}); nothing was published: a relay stores the two together or neither`,
      refused.length === reports.length
        ? 'the relays refused it (see the warnings): running the same command again will fail the same way'
        : 'running the same command again is harmless: nothing is half-published',
    )
  }
  throw new CliError(
    EXIT.network,
    'quorum',
    `only ${landed.length} of ${relays.length} relays took the statement with its content; the quorum is ${quorum}; it landed on ${landed.join(', ')}`,
    'it is public there already (statement and content together); run the same command again when the other relays are back, or lower --quorum',
  )
}

/** The reports of `publishWithContent` in the shape of a statement publish (`announce`, --json). */
export function asPublished(statement: VerifiedStatement, reports: ContentReport[]): { result: PublishResult; statements: VerifiedStatement[] } {
  const relays: PublishReport[] = reports.map((r) => ({ relay: r.relay, ok: r.ok, ...(r.statement && { results: [{ id: statement.id, status: r.statement }] }), ...(r.problem && { problem: r.problem }) }))
  return { result: { ids: [statement.id], relays, took: reports.filter((r) => r.ok).length }, statements: [statement] }
}

/** Per relay, for --json: what happened to the content. */
export const contentJson = (reports: ContentReport[]) => reports.map((u) => ({ relay: u.relay, ok: u.ok, status: u.content ?? null, ...(u.problem && { problem: u.problem }) }))

/** Statements that name no content, posted to the relays that took the one that did; failures warn. */
export async function postAlongside(ctx: Context, relays: string[], statements: VerifiedStatement[]): Promise<void> {
  if (relays.length === 0) return
  try {
    ctx.warnRelays((await publish(relays, statements, { timeoutMs: ctx.timeoutMs })).relays)
  } catch (e) {
    if (!(e instanceof ClientError)) throw e
    ctx.warnRelays(e.reports)
  }
}
