import { getText } from './http.ts'
import { type Key, mentions, type Outcome, type ProofMethod, parseJsonObject, ProofFailure, shortDid } from './method.ts'
import { hostname } from './names.ts'

/**
 * `bsky:alice.example` is proved by the Bluesky profile of that handle whose description contains
 * the did:key (as a whole word). The AppView resolves the handle and reports `handle.invalid` when
 * the handle's own DNS or well-known record no longer points at the account, so the answer must
 * name the same handle: otherwise the profile belongs to an account that merely used to hold it.
 */
export const bskyProof: ProofMethod = {
  name: 'bsky',
  async check(_alias: string, value: string, key: Key, o): Promise<Outcome> {
    const handle = hostname(value, 'Bluesky handle')
    const url = `${o.bskyBase}/xrpc/app.bsky.actor.getProfile?actor=${encodeURIComponent(handle)}`
    const { text } = await getText(url, o, 'application/json')
    const profile = parseJsonObject(text, url)
    if (typeof profile.handle !== 'string') throw new ProofFailure(`${url}: the profile has no handle`)
    if (profile.handle.toLowerCase() !== handle) {
      return { ok: false, detail: `the AppView gives the account's handle as ${JSON.stringify(profile.handle)}, not ${handle}` }
    }
    const description = profile.description ?? ''
    if (typeof description !== 'string') throw new ProofFailure(`${url}: the profile's description is not a string`)
    if (mentions(description, key.did)) return { ok: true, detail: `the Bluesky profile of ${handle} names ${shortDid(key.did)}` }
    return { ok: false, detail: `the Bluesky profile of ${handle} does not name ${shortDid(key.did)}` }
  },
}
