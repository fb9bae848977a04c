import type { Child } from 'hono/jsx'
import type { Bounded, Row } from './data.ts'
import { actorHref, cut, formatTime, isoTime, shortTerm, statementHref, termHref, termKind, visible } from './text.ts'

/**
 * Small pieces every page uses. All user text goes through JSX (escaped) and `visible` (invisible
 * characters spelled out), and always sits in a `.u` element (bidi-isolated, wraps anywhere).
 */

/** A subject or object: linked to its page when it is an actor, a hash or a package. */
export function Term({ value, full }: { value: string; full?: boolean }) {
  const href = termHref(value)
  const label = full ? visible(value) : shortTerm(value)
  const kind = termKind(value)
  // Keys and hashes are short labels and read best on one line; packages and free text wrap.
  const body = <span class={kind === 'text' ? 'u' : kind === 'package' ? 'u mono' : 'u mono nw'}>{label}</span>
  return href ? (
    <a href={href} title={visible(value)} class="term">
      {body}
    </a>
  ) : (
    <code class="u" title={visible(value)}>
      {label}
    </code>
  )
}

export function Actor({ did }: { did: string }) {
  return (
    <a href={actorHref(did)} class="mono nw" title={did}>
      {shortTerm(did)}
    </a>
  )
}

export function Time({ ms }: { ms: number }) {
  const iso = isoTime(ms)
  return iso ? (
    <time datetime={iso} class="muted nw">
      {formatTime(ms)}
    </time>
  ) : (
    <span class="muted">{formatTime(ms)}</span>
  )
}

/** `source`, or `NOT source` in red for the negative form (yank, revocation, withdrawal). */
export function Claim({ row }: { row: Row }) {
  const s = row.statement
  return s.not ? (
    <span class="badge b-bad" title="the negative form: IS NOT">
      NOT {s.claim}
    </span>
  ) : (
    <span class="badge b-info">{s.claim}</span>
  )
}

/** Signed extra detail, shown as JSON text (it is attacker-controlled like every other field). */
export function Meta({ row }: { row: Row }) {
  const m = row.statement.meta
  if (!m || Object.keys(m).length === 0) return <span class="muted">–</span>
  return <code class="u">{cut(visible(JSON.stringify(m)), 400)}</code>
}

export function StatementLink({ id }: { id: string }) {
  return (
    <a href={statementHref(id)} class="mono" title={`${id}: the signed statement as JSON`}>
      {id.slice(7, 15)}
    </a>
  )
}

/** A table of statements, newest first; `hide` drops columns the page already states. */
export function StatementTable({ rows, hide = [] }: { rows: readonly Row[]; hide?: ('actor' | 'subject' | 'claim' | 'object')[] }) {
  if (!rows.length) return <p class="muted">None on this relay.</p>
  const show = (c: 'actor' | 'subject' | 'claim' | 'object') => !hide.includes(c)
  return (
    <table class="statements">
      <thead>
        <tr>
          <th>time</th>
          {show('actor') && <th>actor</th>}
          {show('subject') && <th>subject</th>}
          {show('claim') && <th>claim</th>}
          {show('object') && <th>object</th>}
          <th>meta</th>
          <th>id</th>
        </tr>
      </thead>
      <tbody>
        {[...rows]
          .sort((a, b) => b.statement.time - a.statement.time || b.seq - a.seq)
          .map((r) => (
            <tr class={r.statement.not ? 'neg' : undefined}>
              <td>
                <Time ms={r.statement.time} />
              </td>
              {show('actor') && (
                <td>
                  <Actor did={r.statement.actor} />
                </td>
              )}
              {show('subject') && (
                <td>
                  <Term value={r.statement.subject} />
                </td>
              )}
              {show('claim') && (
                <td>
                  <Claim row={r} />
                </td>
              )}
              {show('object') && <td>{r.statement.object !== undefined ? <Term value={r.statement.object} /> : <span class="muted">–</span>}</td>}
              <td class="meta">
                <Meta row={r} />
              </td>
              <td>
                <StatementLink id={r.id} />
              </td>
            </tr>
          ))}
      </tbody>
    </table>
  )
}

/** Said under a list that was cut at the explorer's read limit. */
export function Truncated({ list, api }: { list: Bounded<unknown>; api?: string }) {
  if (!list.truncated) return null
  return (
    <p class="muted">
      Showing the first {list.items.length}; there are more.{' '}
      {api && (
        <>
          The API has them all: <a href={api}>{api.length > 60 ? 'the full list' : api}</a>.
        </>
      )}
    </p>
  )
}

export function Section({ title, id, children }: { title: string; id?: string; children?: Child }) {
  return (
    <section id={id}>
      <h2>{title}</h2>
      {children}
    </section>
  )
}

export function Badge({ kind, children }: { kind: 'ok' | 'bad' | 'warn' | 'info'; children?: Child }) {
  return <span class={`badge b-${kind}`}>{children}</span>
}
