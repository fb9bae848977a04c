import type { AliasCheck } from '../identity/index.ts'
import { decodeDidKey, hex } from '../verify/index.ts'
import { Actor, Badge, Claim, Section, StatementLink, StatementTable, Term, Time, Truncated } from './components.tsx'
import { inForceRows, type ActorData, type Row } from './data.ts'
import { actorHref, cut, formatTime, visible } from './text.ts'

/** One key: its aliases (and, on request, whether it proves them), what it signed, who vouches for it. */

const api = (q: Record<string, string>) => `/v1/statements?${new URLSearchParams(q)}`

/** The key's own alias claims in force (latest per alias), positive ones first. */
export function ownAliases(d: ActorData, now: number): Row[] {
  const own = d.about.items.filter((r) => r.statement.claim === 'alias' && r.statement.actor === d.did && r.statement.object !== undefined)
  return inForceRows(own, now).sort((a, b) => Number(a.statement.not ?? false) - Number(b.statement.not ?? false) || a.statement.object!.localeCompare(b.statement.object!))
}

export const isEmptyActor = (d: ActorData) => !d.claimed.items.length && !d.about.items.length && !d.mentioned.items.length

export interface ActorView {
  d: ActorData
  now: number
  /** Proof results by alias, when the reader asked for them (`?check=1`). */
  checks?: Map<string, AliasCheck>
}

export function ActorPage({ d, now, checks }: ActorView) {
  const key = decodeDidKey(d.did)!
  const aliases = ownAliases(d, now)
  const vouches = inForceRows(
    d.about.items.filter((r) => r.statement.actor !== d.did),
    now,
  ).sort((a, b) => b.statement.time - a.statement.time)
  const counts = new Map<string, number>()
  for (const r of d.claimed.items) counts.set(r.statement.claim, (counts.get(r.statement.claim) ?? 0) + 1)
  return (
    <>
      <p class="muted">actor</p>
      <h1 class="mono">{d.did}</h1>
      <dl class="kv">
        <dt>Ed25519 public key</dt>
        <dd class="mono">{hex.encode(key)}</dd>
        <dt>statements signed</dt>
        <dd>
          {d.claimed.items.length}
          {d.claimed.truncated ? '+' : ''}
          {counts.size > 0 && <span class="muted"> ({[...counts].map(([c, n]) => `${n} ${c}`).join(', ')})</span>}
        </dd>
      </dl>

      <Section title="Aliases" id="aliases">
        <p class="muted">
          An alias is only a claim until its proof is checked (a DNS record, a file on the site, a key on the forge). Proofs are
          checked on demand, by this relay, now; your own client checks them for itself.
        </p>
        {aliases.length === 0 ? (
          <p class="muted">This key claims no alias.</p>
        ) : (
          <>
            <table>
              <thead>
                <tr>
                  <th>alias</th>
                  <th>claimed</th>
                  <th>proof</th>
                </tr>
              </thead>
              <tbody>
                {aliases.map((r) => {
                  const alias = r.statement.object!
                  const check = checks?.get(alias)
                  return (
                    <tr>
                      <td>
                        <code class="u">{cut(visible(alias), 120)}</code>
                      </td>
                      <td>
                        <Time ms={r.statement.time} /> <StatementLink id={r.id} />
                      </td>
                      <td data-alias-status={r.statement.not ? 'withdrawn' : check ? (check.ok ? 'proven' : 'failed') : 'unchecked'}>
                        {r.statement.not ? (
                          <Badge kind="info">withdrawn</Badge>
                        ) : check ? (
                          <>
                            <Badge kind={check.ok ? 'ok' : 'bad'}>{check.ok ? `proven (${check.method})` : 'not proven'}</Badge>{' '}
                            <span class="u muted">{cut(visible(check.detail), 200)}</span>{' '}
                            <span class="muted">(valid until {formatTime(check.expiresAt)})</span>
                          </>
                        ) : (
                          <Badge kind="info">not checked</Badge>
                        )}
                      </td>
                    </tr>
                  )
                })}
              </tbody>
            </table>
            {!checks && aliases.some((r) => !r.statement.not) && (
              <form method="get" action={actorHref(d.did)}>
                <input type="hidden" name="check" value="1" />
                <button type="submit">Check alias proofs now</button>
              </form>
            )}
          </>
        )}
      </Section>

      <Section title="Who vouches for it" id="vouches">
        {vouches.length === 0 ? (
          <p class="muted">No other key says anything about this key here.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>by</th>
                <th>says this key</th>
                <th>time</th>
              </tr>
            </thead>
            <tbody>
              {vouches.map((r) => (
                <tr>
                  <td>
                    <Actor did={r.statement.actor} />
                  </td>
                  <td>
                    <Claim row={r} /> {r.statement.object !== undefined && <Term value={r.statement.object} />}
                  </td>
                  <td>
                    <Time ms={r.statement.time} /> <StatementLink id={r.id} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Truncated list={d.about} api={api({ subject: d.did })} />
      </Section>

      <Section title="What it claimed" id="claimed">
        <StatementTable rows={d.claimed.items} hide={['actor']} />
        <Truncated list={d.claimed} api={api({ actor: d.did })} />
      </Section>

      {d.mentioned.items.length > 0 && (
        <Section title="Named as object by" id="mentioned">
          <StatementTable rows={d.mentioned.items} hide={['object']} />
          <Truncated list={d.mentioned} api={api({ object: d.did })} />
        </Section>
      )}
    </>
  )
}
