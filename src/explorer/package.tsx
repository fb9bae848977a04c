import { Builds, Reviews } from './builds.tsx'
import { Actor, Badge, Claim, col, MetaText, metaString, None, Section, StatementLink, StatementTable, Term, Time, Truncated } from './components.tsx'
import { inForceRows, type PackageData, type Row } from './data.ts'
import { MarkBadges, Marks } from './marks-view.tsx'
import { cut, packageHref, visible } from './text.ts'

/**
 * A package (all its versions) or one version: which source hashes are claimed and by whom, what
 * builders made of each (agreeing builders grouped, disagreements flagged), reviews, and every
 * yank and revocation with its time. It shows claims, not a verdict: whom to believe is the
 * reader's policy, which the trust view applies.
 */

const api = (q: Record<string, string>) => `/v1/statements?${new URLSearchParams(q)}`

export const isEmptyPackage = (d: PackageData) => !d.versions.items.length && !d.about.items.length && !d.authors.items.length

/** `trusted`: the keys whose source claims mark a version trusted (the relay's admission roots by default). */
export function PackagePage({ d, now, trusted = [] }: { d: PackageData; now: number; trusted?: readonly string[] }) {
  const empty = isEmptyPackage(d)
  return (
    <>
      <p class="muted">{d.version ? 'package version' : 'package'}</p>
      <h1 class="u">{visible(d.purl)}</h1>
      {d.version && (
        <p>
          Version <code class="u">{visible(d.version)}</code> of <a href={packageHref(d.pkg)} class="u">{visible(d.pkg)}</a> ·{' '}
          <a href={`/trust?${new URLSearchParams({ package: d.purl })}`}>check it against a policy</a>
        </p>
      )}
      {empty && (
        <div class="box warn">
          This relay holds no statements about <code class="u">{visible(d.purl)}</code>. Statements reach every relay by
          gossip within minutes; a package nobody has claimed anything about is simply unknown.
        </div>
      )}
      <Versions d={d} />
      {!empty && <Marks d={d} trusted={trusted} />}
      {d.version ? <VersionDetails d={d} now={now} /> : null}
      <Authors d={d} now={now} />
      <Negatives d={d} />
      {d.about.items.length > 0 && (
        <details>
          <summary>
            All {d.about.items.length}
            {d.about.truncated ? '+' : ''} statements with subject {cut(visible(d.purl), 60)}
          </summary>
          <StatementTable rows={d.about.items} hide={['subject']} />
          <Truncated list={d.about} api={api({ subject: d.purl })} />
        </details>
      )}
    </>
  )
}

function Versions({ d }: { d: PackageData }) {
  const vs = d.versions.items
  return (
    <Section title={`Versions (${vs.length}${d.versions.truncated ? '+' : ''})`} id="versions">
      {vs.length === 0 ? (
        <p class="muted">No version of {visible(d.pkg)} has statements here.</p>
      ) : d.version ? (
        <ul class="chips">
          {vs.map((v) => {
            const label = v.subject.slice(d.pkg.length + 1)
            return v.subject === d.purl ? (
              <li class="cur">
                <span class="u">{cut(visible(label), 40)}</span>
              </li>
            ) : (
              <li>
                <a href={packageHref(v.subject)} class="u" title={visible(v.subject)}>
                  {cut(visible(label), 40)}
                </a>
              </li>
            )
          })}
        </ul>
      ) : (
        <table>
          <thead>
            <tr>
              <th>version</th>
              <th>marks</th>
              <th>statements</th>
              <th>latest</th>
            </tr>
          </thead>
          <tbody>
            {vs.map((v) => (
              <tr>
                <td>
                  <a href={packageHref(v.subject)} class="u">
                    {cut(visible(v.subject.slice(d.pkg.length + 1)), 80)}
                  </a>
                </td>
                <td>
                  <MarkBadges m={d.marks.get(v.subject)} />
                </td>
                <td>{v.count}</td>
                <td>
                  <Time ms={v.latest} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {d.versions.truncated && <p class="muted">Only the first {vs.length} versions are listed.</p>}
    </Section>
  )
}

interface HashClaims {
  hash: string
  claims: Row[]
  yanks: Row[]
  /** Positive claims no longer in force (their key later yanked the hash): who claimed it once. */
  earlier: Row[]
}

/** Source claims in force, by hash: who claims it, who yanked it. */
function sourceClaims(rows: readonly Row[], now: number): HashClaims[] {
  const all = rows.filter((r) => (r.statement.claim === 'source' || r.statement.claim === 'published') && r.statement.object !== undefined)
  const current = inForceRows(all, now)
  const inForce = new Set(current.map((r) => r.id))
  const by = new Map<string, HashClaims>()
  const entry = (h: string) => by.get(h) ?? by.set(h, { hash: h, claims: [], yanks: [], earlier: [] }).get(h)!
  for (const r of current) {
    const e = entry(r.statement.object!)
    ;(r.statement.not ? e.yanks : e.claims).push(r)
  }
  for (const r of all) if (!r.statement.not && !inForce.has(r.id)) entry(r.statement.object!).earlier.push(r)
  return [...by.values()].sort((a, b) => b.claims.length - a.claims.length || a.hash.localeCompare(b.hash))
}

function VersionDetails({ d, now }: { d: PackageData; now: number }) {
  const hashes = sourceClaims(d.about.items, now)
  const live = hashes.filter((h) => h.claims.length && !h.yanks.length)
  return (
    <>
      <Section title="Source" id="source">
        {hashes.length === 0 ? (
          <p class="muted">Nobody claims a source hash for this version here.</p>
        ) : live.length > 1 ? (
          <div class="box warn">
            <strong>Claims disagree:</strong> {live.length} different source hashes are claimed for this version and not
            yanked. Which one (if any) to believe depends on whose keys you trust.
          </div>
        ) : live.length === 1 ? (
          <div class="box ok">
            One source hash is claimed ({live[0]!.claims.length} key{live[0]!.claims.length === 1 ? '' : 's'}) and not yanked.
          </div>
        ) : (
          <div class="box bad">Every claimed source hash has been yanked.</div>
        )}
        {hashes.length > 0 && (
          <table>
            <thead>
              <tr>
                <th>source hash</th>
                <th>claimed by</th>
                <th>yanked by</th>
              </tr>
            </thead>
            <tbody>
              {hashes.map((h) => (
                <tr class={h.yanks.length ? 'yanked' : undefined}>
                  <td>
                    <Term value={h.hash} /> {h.yanks.length ? <Badge kind="bad">yanked</Badge> : live.length > 1 ? <Badge kind="warn">disputed</Badge> : null}
                  </td>
                  <td>
                    <ClaimList rows={h.claims} />
                    {h.earlier.length > 0 && (
                      <>
                        <p class="muted">earlier, since withdrawn:</p>
                        <ClaimList rows={h.earlier} />
                      </>
                    )}
                  </td>
                  <td>{h.yanks.length ? <ClaimList rows={h.yanks} reason /> : <None />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Truncated list={d.about} api={api({ subject: d.purl })} />
      </Section>
      <Section title="Builds" id="builds">
        {d.hashes.length === 0 ? <p class="muted">No source hash, so no builds to show.</p> : d.hashes.map((h) => <Builds hash={h.hash} rows={h.about.items} now={now} />)}
        {d.hashesTruncated && <p class="muted">Only the first {d.hashes.length} claimed hashes are shown.</p>}
      </Section>
      <Section title="Reviews" id="reviews">
        {d.hashes.length === 0 ? <p class="muted">No source hash, so no reviews to show.</p> : d.hashes.map((h) => <Reviews hash={h.hash} rows={h.about.items} now={now} />)}
      </Section>
    </>
  )
}

function ClaimList({ rows, reason }: { rows: readonly Row[]; reason?: boolean }) {
  return (
    <ul class="builders">
      {rows.map((r) => (
        <li>
          <Actor did={r.statement.actor} /> <Time ms={r.statement.time} />
          {r.statement.claim === 'published' && <Badge kind="info">bridge: published{metaString(r, 'registry') ? ` on ${cut(visible(metaString(r, 'registry')!), 40)}` : ''}</Badge>}
          {reason && metaString(r, 'reason') && <span class="u"> “{cut(visible(metaString(r, 'reason')!), 200)}”</span>} <StatementLink id={r.id} />
        </li>
      ))}
    </ul>
  )
}

function Authors({ d, now }: { d: PackageData; now: number }) {
  return (
    <Section title={`Authors of ${cut(visible(d.pkg), 60)}`} id="authors">
      <StatementTable
        rows={inForceRows(d.authors.items, now)}
        order="oldest"
        empty={<p class="muted">No key claims anyone is an author of this package.</p>}
        columns={[
          { head: 'author', cell: (r) => <Term value={r.statement.subject} /> },
          { head: 'according to', cell: (r) => (r.statement.actor === r.statement.subject ? <span class="muted">itself</span> : <Actor did={r.statement.actor} />) },
          { ...col.time, head: 'since' },
          { head: 'status', cell: (r) => (r.statement.not ? <Badge kind="bad">revoked</Badge> : <Badge kind="ok">author</Badge>) },
        ]}
      />
      <Truncated list={d.authors} api={api({ claim: 'author', object: d.pkg })} />
    </Section>
  )
}

/** Every negative statement on the page (yanks, revocations, withdrawn builds and reviews), newest first. */
function Negatives({ d }: { d: PackageData }) {
  const rows = [...d.about.items, ...d.versionRows.items, ...d.authors.items, ...d.hashes.flatMap((h) => h.about.items)].filter((r) => r.statement.not)
  return (
    <Section title="Yanks and revocations" id="negatives">
      <StatementTable
        rows={[...new Map(rows.map((r) => [r.id, r])).values()]}
        empty={<p class="muted">None.</p>}
        columns={[
          col.time,
          { ...col.actor, head: 'by' },
          {
            head: 'statement',
            cell: (r) => (
              <>
                <Term value={r.statement.subject} /> <Claim row={r} /> {r.statement.object !== undefined && <Term value={r.statement.object} />}
              </>
            ),
          },
          { head: 'reason', class: 'meta', cell: (r) => <MetaText row={r} field="reason" max={200} /> },
          col.id,
        ]}
      />
    </Section>
  )
}
