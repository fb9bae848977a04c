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

/**
 * Signed extra detail, shown as indented JSON (it is attacker-controlled like every other field):
 * one key a line reads at a glance where one long line, wrapped in a narrow column, did not.
 */
export function Meta({ row }: { row: Row }) {
  const m = row.statement.meta
  if (!m || Object.keys(m).length === 0) return <span class="muted">–</span>
  return <pre class="json u">{cut(visible(JSON.stringify(m, null, 2)), 600)}</pre>
}

/** A text field of the signed meta, or undefined when it is absent or not a string. */
export function metaString(row: Row, field: string): string | undefined {
  const v = row.statement.meta?.[field]
  return typeof v === 'string' ? v : undefined
}

/** One text field of the meta (a reason, a comment), cut to `max`; the whole meta when it has none. */
export function MetaText({ row, field, max }: { row: Row; field: string; max: number }) {
  const text = metaString(row, field)
  return text !== undefined && text !== '' ? <span class="u">{cut(visible(text), max)}</span> : <Meta row={row} />
}

export function StatementLink({ id }: { id: string }) {
  return (
    <a href={statementHref(id)} class="mono" title={`${id}: the signed statement as JSON`}>
      {id.slice(7, 15)}
    </a>
  )
}

/** The dash in a cell that has nothing to show. */
export const None = () => <span class="muted">–</span>

/** A column of a statement table: its heading and what each row shows in it. */
export interface Column {
  head: string
  cell: (r: Row) => Child
  class?: string
  /** Attributes of each cell, e.g. a `data-` attribute that scripts and tests select on. */
  attrs?: (r: Row) => Record<string, string>
}

/** The fields every statement has, as columns; a page renames one with `{ ...col.actor, head: 'by' }`. */
export const col = {
  time: { head: 'time', cell: (r) => <Time ms={r.statement.time} /> },
  actor: { head: 'actor', cell: (r) => <Actor did={r.statement.actor} /> },
  subject: { head: 'subject', cell: (r) => <Term value={r.statement.subject} /> },
  claim: { head: 'claim', cell: (r) => <Claim row={r} /> },
  object: { head: 'object', cell: (r) => (r.statement.object !== undefined ? <Term value={r.statement.object} /> : <None />) },
  meta: { head: 'meta', class: 'meta', cell: (r) => <Meta row={r} /> },
  id: { head: 'id', cell: (r) => <StatementLink id={r.id} /> },
} satisfies Record<string, Column>

type Field = keyof typeof col
const FIELDS: Field[] = ['time', 'actor', 'subject', 'claim', 'object', 'meta', 'id']

const newest = (a: Row, b: Row) => b.statement.time - a.statement.time || b.seq - a.seq
const oldest = (a: Row, b: Row) => -newest(a, b)

export interface StatementTableProps {
  rows: readonly Row[]
  /** The columns, in order; default every field of the statement but those in `hide`. */
  columns?: readonly Column[]
  /** Fields the page already states, dropped from the default columns. */
  hide?: Field[]
  /** Row order: newest first (default), oldest first, or as given (the page has grouped or ranked them). */
  order?: 'newest' | 'oldest' | 'given'
  /** Shown instead of an empty table. */
  empty?: Child
}

/**
 * Every table whose rows are statements. Rows of the negative form carry class `neg`; each cell
 * goes through the column's renderer, so escaping and `visible` are the components' own.
 */
export function StatementTable({ rows, columns, hide = [], order = 'newest', empty = <p class="muted">None on this relay.</p> }: StatementTableProps) {
  if (!rows.length) return <>{empty}</>
  const cols: readonly Column[] = columns ?? FIELDS.filter((f) => !hide.includes(f)).map((f) => col[f])
  const list = order === 'given' ? rows : [...rows].sort(order === 'newest' ? newest : oldest)
  return (
    <table class="statements">
      <thead>
        <tr>
          {cols.map((c) => (
            <th>{c.head}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {list.map((r) => (
          <tr class={r.statement.not ? 'neg' : undefined}>
            {cols.map((c) => (
              <td class={c.class} {...c.attrs?.(r)}>
                {c.cell(r)}
              </td>
            ))}
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
