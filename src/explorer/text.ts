import { hexForm, isDidKey, parseSri } from '../verify/index.ts'

/**
 * Pure helpers for showing attacker-controlled text. Escaping itself is Hono JSX's job (it escapes
 * every text child and attribute); these make what is shown honest: invisible and direction-changing
 * characters are spelled out, so a subject cannot pose as another by reordering or hiding letters.
 */

/**
 * Legal in a subject, invisible on screen: Unicode's Default_Ignorable_Code_Point set (zero-width
 * characters, the soft hyphen, tag characters U+E0000–E007F, variation selectors, Hangul fillers,
 * the BOM) and the bidi controls. `left-pad\u{E0041}@1.3.0` must not look like `left-pad@1.3.0`.
 * The property classes follow the runtime's Unicode version, so new ignorables are covered too.
 */
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Bidi_Control}]/gu

/** `s` with each invisible or direction-changing character written as ⟨U+XXXX⟩. */
export const visible = (s: string): string =>
  s.replace(INVISIBLE, (ch) => `⟨U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}⟩`)

export type TermKind = 'actor' | 'hash' | 'package' | 'text'

export function termKind(term: string): TermKind {
  if (isDidKey(term)) return 'actor'
  if (parseSri(term)) return 'hash'
  if (term.startsWith('pkg:')) return 'package'
  return 'text'
}

/** A path segment that may contain `/`, `:` and `@` as they are (Hono decodes the param once). */
const pathPart = (s: string) => encodeURIComponent(s).replace(/%2F/g, '/').replace(/%3A/g, ':').replace(/%40/g, '@')

export const actorHref = (did: string) => `/actor/${pathPart(did)}`
export const packageHref = (purl: string) => `/package/${pathPart(purl)}`
/** Hash pages use the hex form: no characters that need escaping in a URL. */
export function hashHref(sri: string): string {
  const d = parseSri(sri)
  return `/hash/${d ? hexForm(d) : pathPart(sri)}`
}
export function statementHref(id: string): string {
  const d = parseSri(id)
  return `/v1/statements/${d ? hexForm(d) : encodeURIComponent(id)}`
}
export function blobHref(sri: string): string {
  const d = parseSri(sri)
  return `/v1/blobs/${d ? hexForm(d) : encodeURIComponent(sri)}`
}

/** The explorer page for a term, when it has one. */
export function termHref(term: string): string | undefined {
  switch (termKind(term)) {
    case 'actor':
      return actorHref(term)
    case 'hash':
      return hashHref(term)
    case 'package':
      return packageHref(term)
    default:
      return undefined
  }
}

/** A short label: `did:key:z6Mk…abcd`, `sha256-47DEQpj8…uFU=`; long text is cut with an ellipsis. */
export function shortTerm(term: string, max = 72): string {
  switch (termKind(term)) {
    case 'actor':
      return `${term.slice(0, 16)}…${term.slice(-4)}`
    case 'hash': {
      const dash = term.indexOf('-')
      return `${term.slice(0, dash + 9)}…${term.slice(-4)}`
    }
    default:
      return cut(visible(term), max)
  }
}

/** At most `max` characters (code points), with an ellipsis when cut. */
export function cut(s: string, max: number): string {
  const chars = Array.from(s)
  return chars.length <= max ? s : `${chars.slice(0, max - 1).join('')}…`
}

/** The largest time a JavaScript Date can hold; statement times may go up to 2^53 − 1. */
const MAX_DATE = 8.64e15

/** `2026-05-04 12:35:12 UTC`, or the raw number for times a Date cannot show. */
export function formatTime(ms: number): string {
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DATE) return `${ms} ms`
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')
}

export const isoTime = (ms: number): string | undefined => (Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE ? new Date(ms).toISOString() : undefined)

/** `1.5 MiB` */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) (v /= 1024), i++
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`
}
