import { Actor, Badge, col, MetaText, metaString, StatementLink, StatementTable, Term, Time } from './components.tsx'
import { inForceRows, type Row } from './data.ts'
import { cut, visible } from './text.ts'

/** What builders and reviewers said about one source hash; shown on package and hash pages. */

interface SystemBuilds {
  system: string
  outputs: { output: string; builders: Row[] }[]
}

/** Build claims in force for one source hash, by system, then by output: agreeing builders together. */
function groupBuilds(rows: readonly Row[], now: number): SystemBuilds[] {
  const current = inForceRows(rows.filter((r) => r.statement.claim === 'build' && r.statement.object !== undefined), now).filter((r) => !r.statement.not)
  const systems = new Map<string, Map<string, Row[]>>()
  for (const r of current) {
    const sys = metaString(r, 'system') ?? ''
    const outs = systems.get(sys) ?? systems.set(sys, new Map()).get(sys)!
    ;(outs.get(r.statement.object!) ?? outs.set(r.statement.object!, []).get(r.statement.object!)!).push(r)
  }
  return [...systems]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([system, outs]) => ({ system, outputs: [...outs].map(([output, builders]) => ({ output, builders })).sort((a, b) => b.builders.length - a.builders.length) }))
}

export function Builds({ hash, rows, now, showHash = true }: { hash: string; rows: readonly Row[]; now: number; showHash?: boolean }) {
  const systems = groupBuilds(rows, now)
  return (
    <div class="buildset">
      {showHash && (
        <h3>
          Built from <Term value={hash} />
        </h3>
      )}
      {systems.length === 0 ? (
        <p class="muted">No build claims.</p>
      ) : (
        systems.map((s) => {
          const agree = s.outputs.length === 1
          return (
            <div class={agree ? 'box' : 'box warn'} data-system={s.system}>
              <strong class="u">{s.system ? visible(s.system) : '(system not stated)'}</strong>{' '}
              {agree ? (
                <Badge kind={s.outputs[0]!.builders.length > 1 ? 'ok' : 'info'}>
                  {s.outputs[0]!.builders.length > 1 ? `${s.outputs[0]!.builders.length} builders agree` : '1 builder'}
                </Badge>
              ) : (
                <Badge kind="bad">builders disagree: {s.outputs.length} different outputs</Badge>
              )}
              <table>
                <thead>
                  <tr>
                    <th>output</th>
                    <th>builders</th>
                  </tr>
                </thead>
                <tbody>
                  {s.outputs.map((o) => (
                    <tr class={agree ? undefined : 'disagree'}>
                      <td>
                        <Term value={o.output} />
                        <br />
                        <span class="muted">
                          {o.builders.length} builder{o.builders.length === 1 ? '' : 's'}
                        </span>
                      </td>
                      <td>
                        <ul class="builders">
                          {o.builders.map((b) => (
                            <li>
                              <Actor did={b.statement.actor} /> <Time ms={b.statement.time} />{' '}
                              {metaString(b, 'builder') && <code class="u">{cut(visible(metaString(b, 'builder')!), 40)}</code>} <StatementLink id={b.id} />
                            </li>
                          ))}
                        </ul>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        })
      )}
    </div>
  )
}

export function Reviews({ hash, rows, now, showHash = true }: { hash: string; rows: readonly Row[]; now: number; showHash?: boolean }) {
  const reviews = inForceRows(
    rows.filter((r) => r.statement.claim === 'review'),
    now,
  ).filter((r) => !r.statement.not)
  return (
    <div>
      {showHash && (
        <h3>
          Reviews of <Term value={hash} />
        </h3>
      )}
      <StatementTable
        rows={reviews}
        order="given"
        empty={<p class="muted">No reviews.</p>}
        columns={[
          { head: 'verdict', cell: (r) => <Verdict value={r.statement.object ?? ''} /> },
          { ...col.actor, head: 'reviewer' },
          col.time,
          {
            head: 'comment',
            class: 'meta',
            cell: (r) => (
              <>
                <MetaText row={r} field="comment" max={300} /> <StatementLink id={r.id} />
              </>
            ),
          },
        ]}
      />
    </div>
  )
}

function Verdict({ value }: { value: string }) {
  return <Badge kind={value === 'pass' ? 'ok' : value === 'fail' ? 'bad' : 'warn'}>{cut(visible(value), 30)}</Badge>
}
