import { Actor, Badge, None, Section, Time } from './components.tsx'
import { inForceRows } from './data.ts'
import type { FindResult } from './find.ts'
import type { NameRow } from '../store/names.ts'
import { cut, packageHref, visible } from './text.ts'

/** The purl type (`npm`, `generic`, `github`): the package's kind in the results list. */
const typeOf = (pkg: string) => pkg.slice(4, pkg.indexOf('/'))

const searchHref = (q: string) => `/search?${new URLSearchParams({ q })}`

/** What a name search found: packages of every type, versions when asked, keys claiming the name. */
export function FindResults({ r, now }: { r: FindResult; now: number }) {
  const { name, version, scope } = r.query
  const shown = `${scope ? `${scope}/` : ''}${name}${version ? ` ${version}` : ''}`
  const pkgs = r.packages.items
  return (
    <>
      <p class="muted">search</p>
      <h1 class="u">{cut(visible(shown), 120)}</h1>
      {pkgs.length === 0 && r.containing.items.length === 0 && r.aliases.length === 0 && (
        <div class="box warn">
          <p>
            No package named <code class="u">{cut(visible(name), 100)}</code>
            {version ? <> with a version starting <code class="u">{cut(visible(version), 60)}</code></> : ' (or starting so)'} is known to
            this relay, and no key claims it as an alias.
          </p>
          {r.suggestions.length > 0 && (
            <p>
              Did you mean{' '}
              {r.suggestions.map((s, i) => (
                <>
                  {i > 0 && ', '}
                  <a class="u" href={searchHref(version ? `${s} ${version}` : s)}>
                    {cut(visible(s), 80)}
                  </a>
                </>
              ))}
              ?
            </p>
          )}
        </div>
      )}
      {pkgs.length > 0 && (
        <Section title={`Packages (${pkgs.length}${r.packages.truncated ? '+' : ''})`} id="packages">
          <PackageTable rows={pkgs} />
          {r.packages.truncated && <p class="muted">Only the first {pkgs.length} names are listed: type more of the name.</p>}
        </Section>
      )}
      {r.containing.items.length > 0 && (
        <Section title={`Names containing ${cut(visible(name), 60)} (${r.containing.items.length}${r.containing.truncated ? '+' : ''})`} id="containing">
          <PackageTable rows={r.containing.items} />
          {r.containing.truncated && <p class="muted">Only the {r.containing.items.length} with most statements are listed: type more of the name.</p>}
        </Section>
      )}
      {r.aliases.map((a) => (
        <Section title={`Keys claiming ${cut(visible(a.alias), 60)}`} id="aliases">
          <ul class="builders">
            {inForceRows(a.rows.items.filter((x) => x.statement.actor === x.statement.subject), now).map((x) => (
              <li>
                <Actor did={x.statement.actor} /> {x.statement.not ? <Badge kind="info">withdrawn</Badge> : <Badge kind="warn">claimed, not checked</Badge>}
              </li>
            ))}
          </ul>
        </Section>
      ))}
    </>
  )
}

/** One row a package: its purl type, its purl (and the versions asked for), counts and newest time. */
function PackageTable({ rows }: { rows: (NameRow & Pick<FindResult['packages']['items'][number], 'versions'>)[] }) {
  return (
    <table class="results">
      <thead>
        <tr>
          <th>kind</th>
          <th>package</th>
          <th>statements</th>
          <th>newest</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((p) => (
          <tr>
            <td>
              <Badge kind="info">{cut(visible(typeOf(p.pkg)), 20)}</Badge>
            </td>
            <td>
              <a href={packageHref(p.pkg)} class="u">
                {cut(visible(p.pkg), 100)}
              </a>
              {p.versions && <Versions pkg={p.pkg} list={p.versions} />}
            </td>
            <td>{p.statements}</td>
            <td>
              <Time ms={p.latest} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

function Versions({ pkg, list }: { pkg: string; list: FindResult['packages']['items'][number]['versions'] & object }) {
  if (list.items.length === 0) return <p class="muted">no version starting so</p>
  return (
    <ul class="chips">
      {list.items.map((v) => (
        <li>
          <a href={packageHref(v.subject)} class="u" title={visible(v.subject)}>
            {cut(visible(v.subject.slice(pkg.length + 1)), 40)}
          </a>{' '}
          <small class="muted">{v.count}</small>
        </li>
      ))}
      {list.truncated && (
        <li>
          <None />
        </li>
      )}
    </ul>
  )
}
