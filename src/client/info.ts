/** What a relay says about itself (`GET /.well-known/vouch`, PROTOCOL §7): is it one, and its limits. */
import { RelayProblemError, type RelayReport } from './errors.ts'
import { checkRelays, eachRelay, requestJson, type RequestOptions } from './http.ts'

export interface RelayInfo {
  /** The protocol version (PROTOCOL_VERSION, a number today). */
  protocol: number | string
  /** Largest blob the relay stores (`limits.blobBytes`); undefined if it did not say. */
  blobBytes?: number
}

export interface InfoReport extends RelayReport {
  info?: RelayInfo
}

const INFO_BYTES = 256 * 1024

/**
 * Asks every relay at once what it is. An answer that is not a vouch relay's (an HTML page, a 404,
 * JSON without `protocol`) is a problem with code `not_a_relay`, so a mistyped URL is called what
 * it is rather than "no statements match". Never throws for a relay's failure.
 */
export async function relayInfo(relays: readonly string[], o: RequestOptions = {}): Promise<InfoReport[]> {
  const answers = await eachRelay(checkRelays(relays), async (relay) => {
    const url = `${relay}/.well-known/vouch`
    const notRelay = (why: string) => new RelayProblemError({ kind: 'invalid', code: 'not_a_relay', message: `${relay} is not a vouch relay (${url} ${why})` })
    let json: unknown
    try {
      json = (await requestJson(url, { headers: { accept: 'application/json' } }, { ...o, maxBytes: INFO_BYTES, maxDepth: 12 })).json
    } catch (e) {
      if (!(e instanceof RelayProblemError)) throw e
      if (e.problem.kind === 'network') throw e
      throw notRelay(e.problem.kind === 'http' ? `answered HTTP ${e.problem.status}` : 'is not JSON')
    }
    const j = json as { protocol?: unknown; limits?: { blobBytes?: unknown } } | null
    if (typeof j?.protocol !== 'number' && typeof j?.protocol !== 'string') throw notRelay('names no protocol')
    const b = j.limits?.blobBytes
    return { protocol: j.protocol, ...(Number.isSafeInteger(b) && (b as number) >= 0 && { blobBytes: b as number }) }
  })
  return answers.map((a) => (a.ok ? { relay: a.relay, ok: true, info: a.value } : { relay: a.relay, ok: false, problem: a.problem }))
}
