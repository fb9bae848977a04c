import type { Json } from '../verify/index.ts'
import { getText } from './http.ts'
import { type Key, type Outcome, type ProofMethod, parseJsonObject, ProofFailure, shortDid } from './method.ts'
import { hostname } from './names.ts'

const TXT = 16
const RCODES: Record<number, string> = { 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 5: 'REFUSED' }

/**
 * `dns:example.org` is proved by a TXT record at `_vouch.example.org` whose text is the did:key
 * (or `vouch=did:key:…`), looked up with the DNS-over-HTTPS JSON API (Cloudflare's and Google's
 * `application/dns-json`). Workers have no resolver of their own, so DoH is the one lookup that
 * runs everywhere. The proof holds for the answer's smallest TTL.
 */
export const dnsProof: ProofMethod = {
  name: 'dns',
  async check(_alias: string, value: string, key: Key, o): Promise<Outcome> {
    const name = `_vouch.${hostname(value, 'dns alias')}`
    const url = new URL(o.dohResolver)
    url.searchParams.set('name', name)
    url.searchParams.set('type', 'TXT')
    const { text } = await getText(url.href, o, 'application/dns-json')
    const answer = parseJsonObject(text, url.href)
    const status = answer.Status
    if (typeof status !== 'number') throw new ProofFailure(`the resolver's answer has no numeric Status`)
    if (status === 3) return { ok: false, detail: `no DNS name ${name} (NXDOMAIN)` }
    if (status !== 0) throw new ProofFailure(`the resolver answered ${RCODES[status] ?? `status ${status}`} for ${name}`)
    const records = answerRecords(answer.Answer)
    const texts = records.filter((r) => r.type === TXT).map((r) => txtData(r.data).trim())
    if (texts.length === 0) return { ok: false, detail: `no TXT record at ${name}` }
    const ttlSeconds = Math.min(...records.map((r) => r.ttl))
    const validated = answer.AD === true ? ', DNSSEC-validated by the resolver' : ''
    if (texts.some((t) => t === key.did || t === `vouch=${key.did}`)) {
      return { ok: true, detail: `TXT record at ${name} names ${shortDid(key.did)} (TTL ${ttlSeconds} s${validated})`, ttlSeconds }
    }
    return { ok: false, detail: `${texts.length} TXT record(s) at ${name}, none is ${shortDid(key.did)} or vouch=${shortDid(key.did)}` }
  },
}

function answerRecords(v: Json | undefined): { type: number; ttl: number; data: string }[] {
  if (v === undefined) return []
  if (!Array.isArray(v)) throw new ProofFailure(`the resolver's Answer is not an array`)
  return v.map((r, i) => {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new ProofFailure(`the resolver's Answer[${i}] is not an object`)
    const { type, TTL, data } = r
    if (typeof type !== 'number' || typeof data !== 'string') throw new ProofFailure(`the resolver's Answer[${i}] lacks type or data`)
    if (typeof TTL !== 'number' || !Number.isSafeInteger(TTL) || TTL < 0) throw new ProofFailure(`the resolver's Answer[${i}] has no valid TTL`)
    return { type, ttl: TTL, data }
  })
}

/**
 * A TXT record's text. Resolvers write it in zone-file form, a run of quoted strings with `\"`,
 * `\\` and `\DDD` escapes (a record over 255 bytes is split into several, which join with nothing
 * between them); some write a single string bare. Bare text is taken as it is.
 */
export function txtData(data: string): string {
  const s = data.trim()
  if (!s.startsWith('"')) return s
  let out = ''
  let i = 0
  while (i < s.length) {
    if (s[i] === ' ' || s[i] === '\t') {
      i++
      continue
    }
    if (s[i] !== '"') throw new ProofFailure(`malformed TXT data ${JSON.stringify(data.slice(0, 80))}`)
    for (i++; ; i++) {
      const c = s[i]
      if (c === undefined) throw new ProofFailure(`unterminated string in TXT data ${JSON.stringify(data.slice(0, 80))}`)
      if (c === '"') break
      if (c === '\\') {
        const ddd = /^\d{3}/.exec(s.slice(i + 1, i + 4))
        if (ddd) out += String.fromCharCode(Number(ddd[0]) & 0xff), (i += 3)
        else if (i + 1 < s.length) out += s[++i]
        else throw new ProofFailure(`dangling escape in TXT data`)
      } else out += c
    }
    i++
    if (i < s.length && s[i] !== ' ' && s[i] !== '\t') throw new ProofFailure(`malformed TXT data ${JSON.stringify(data.slice(0, 80))}`)
  }
  return out
}
