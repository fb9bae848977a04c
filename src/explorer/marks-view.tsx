import { Actor, Badge, metaString, Section, StatementLink, Term, Time } from './components.tsx'
import type { PackageData, Row } from './data.ts'
import { hasMark, type VersionMarks } from './marks.ts'
import { cut, packageHref, visible } from './text.ts'

/** The badges of one version: what the statements in force say about it. */
export function MarkBadges({ m }: { m: VersionMarks | undefined }) {
  if (!m) return <span class="muted">no source claimed</span>
  return (
    <span class="marks">
      {m.yanks.length > 0 && <Badge kind="bad">yanked</Badge>} {m.revokes.length > 0 && <Badge kind="bad">revoked</Badge>}{' '}
      {m.conflicting && <Badge kind="warn">conflicting</Badge>} {m.deprecations.length > 0 && <Badge kind="warn">deprecated</Badge>}{' '}
      {m.trustedBy.length > 0 && <Badge kind="ok">trusted</Badge>}
      {!hasMark(m) && <span class="muted">–</span>}
    </span>
  )
}

function Because({ label, rows, reason }: { label: string; rows: readonly Row[]; reason?: string }) {
  if (!rows.length) return null
  return (
    <li>
      <strong>{label}</strong>
      <ul class="builders">
        {rows.map((r) => (
          <li>
            <Actor did={r.statement.actor} /> <Time ms={r.statement.time} /> <Term value={r.statement.object!} />
            {reason && metaString(r, reason) && <span class="u"> “{cut(visible(metaString(r, reason)!), 200)}”</span>} <StatementLink id={r.id} />
          </li>
        ))}
      </ul>
    </li>
  )
}

/** The statements behind each mark of one version. */
export function MarkReasons({ m, trustedKeys }: { m: VersionMarks; trustedKeys: number }) {
  return (
    <ul class="reasons">
      <Because label="yanked by" rows={m.yanks} reason="reason" />
      <Because label="revoked (unpublished) according to" rows={m.revokes} reason="reason" />
      {m.conflicting && (
        <li>
          <strong>conflicting:</strong> {m.live.length} different source hashes are claimed and not yanked:{' '}
          {m.live.map((h) => (
            <>
              <Term value={h} />{' '}
            </>
          ))}
        </li>
      )}
      <Because label="deprecated according to" rows={m.deprecations} reason="deprecated" />
      <Because label={`trusted: claimed by ${trustedKeys === 1 ? 'the key' : 'keys'} this explorer trusts`} rows={m.trustedBy} />
    </ul>
  )
}

/**
 * Every marked version with the statements behind its marks, and which keys "trusted" means here.
 * On a version page it is that version alone.
 */
export function Marks({ d, trusted }: { d: PackageData; trusted: readonly string[] }) {
  const marked = [...d.marks.values()].filter(hasMark).sort((a, b) => a.subject.localeCompare(b.subject))
  return (
    <Section title={d.version ? 'Marks on this version' : `Marked versions (${marked.length}${d.versionRows.truncated ? '+' : ''})`} id="marks">
      <p class="muted">
        {trusted.length === 0 ? (
          <>No key is trusted by this explorer (its policy, EXPLORER_POLICY, has no root keys; by default they are the relay's admission roots), so no version is marked trusted.</>
        ) : (
          <>
            “Trusted” means claimed by {trusted.length === 1 ? 'the key' : `one of the ${trusted.length} keys`} this relay's operator trusts (the root keys of its explorer policy; by default its admission roots):{' '}
            {trusted.map((k) => (
              <>
                <Actor did={k} />{' '}
              </>
            ))}
            . It is a hint, not a verdict: check a version against your own policy in the trust view.
          </>
        )}
      </p>
      {marked.length === 0 ? (
        <p class="muted">No version here is yanked, revoked, conflicting, deprecated or trusted.</p>
      ) : (
        marked.map((m) => (
          <div class="marked">
            {d.version ? null : (
              <p>
                <a href={packageHref(m.subject)} class="u">
                  {cut(visible(m.subject.slice(d.pkg.length + 1)), 80)}
                </a>{' '}
                <MarkBadges m={m} />
              </p>
            )}
            {d.version ? (
              <p>
                <MarkBadges m={m} />
              </p>
            ) : null}
            <MarkReasons m={m} trustedKeys={trusted.length} />
          </div>
        ))
      )}
      {d.versionRows.truncated && <p class="muted">Only the first {d.versionRows.items.length} statements of this package's versions were read for the marks.</p>}
    </Section>
  )
}
