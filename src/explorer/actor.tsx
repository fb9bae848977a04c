import type { CachedCheck } from '../store/proofs.ts'
import { decodeDidKey, hex } from '../verify/index.ts'
import { Badge, Claim, col, Section, StatementLink, StatementTable, Term, Time, Truncated } from './components.tsx'
import { inForceRows, type ActorData, type Row } from './data.ts'
import { actorHref, cut, formatTime, visible } from './text.ts'

/** One key: its aliases (and whether this relay found their proofs, when it checked), what it signed, who vouches for it. */

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
  /** Fresh proof results from the shared cache, by alias (missing: not checked yet). */
  checks?: ReadonlyMap<string, CachedCheck>
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
          An alias is only a claim until its proof is checked (a DNS record, a file on the site, a key on the forge). This
          relay checks proofs when someone presses the button below and shows each result for up to an hour (a failure for ten
          minutes); your own client checks them for itself.
        </p>
        {aliases.length === 0 ? (
          <p class="muted">This key claims no alias.</p>
        ) : (
          <>
            <StatementTable
              rows={aliases}
              order="given"
              columns={[
                { head: 'alias', cell: (r) => <code class="u">{cut(visible(r.statement.object!), 120)}</code> },
                {
                  head: 'claimed',
                  cell: (r) => (
                    <>
                      <Time ms={r.statement.time} /> <StatementLink id={r.id} />
                    </>
                  ),
                },
                { head: 'proof', cell: (r) => <Proof row={r} check={checks?.get(r.statement.object!)} />, attrs: (r) => ({ 'data-alias-status': aliasStatus(r, checks) }) },
              ]}
            />
            {aliases.some((r) => !r.statement.not && !checks?.has(r.statement.object!)) && (
              <form method="post" action={actorHref(d.did)}>
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
          <StatementTable
            rows={vouches}
            columns={[
              { ...col.actor, head: 'by' },
              {
                head: 'says this key',
                cell: (r) => (
                  <>
                    <Claim row={r} /> {r.statement.object !== undefined && <Term value={r.statement.object} />}
                  </>
                ),
              },
              {
                head: 'time',
                cell: (r) => (
                  <>
                    <Time ms={r.statement.time} /> <StatementLink id={r.id} />
                  </>
                ),
              },
            ]}
          />
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

const aliasStatus = (r: Row, checks: ReadonlyMap<string, CachedCheck> | undefined) => {
  const check = checks?.get(r.statement.object!)
  return r.statement.not ? 'withdrawn' : check ? (check.ok ? 'proven' : 'failed') : 'unchecked'
}

/** Whether the key proves an alias, as this relay last found it. */
function Proof({ row, check }: { row: Row; check: CachedCheck | undefined }) {
  if (row.statement.not) return <Badge kind="info">withdrawn</Badge>
  if (!check) return <Badge kind="info">not checked yet</Badge>
  return (
    <>
      <Badge kind={check.ok ? 'ok' : 'bad'}>{check.ok ? `proven (${check.method})` : 'not proven'}</Badge> <span class="u muted">{cut(visible(check.detail), 200)}</span>{' '}
      <span class="muted">(checked</span> <Time ms={check.checkedAt} /><span class="muted">; shown until {formatTime(check.expiresAt)})</span>
    </>
  )
}
