import type { stats as gossipStats } from '../gossip/index.ts'
import { Badge, Section, Time } from './components.tsx'
import { BLOB_LIST_PAGES, type StatusData } from './data.ts'
import { cut, formatBytes, formatTime } from './text.ts'

/** The relay's own state: what it holds and how its peers are doing. */
export function StatusPage({ d, self, gossip, now }: { d: StatusData; self?: string; gossip: typeof gossipStats; now: number }) {
  return (
    <>
      <h1>Relay status</h1>
      <div class="grid2">
        <div class="box">
          <div class="muted">statements</div>
          <div class="big" data-count="statements">
            {d.statements.toLocaleString('en')}
          </div>
        </div>
        <div class="box">
          <div class="muted">blobs cached</div>
          <div class="big" data-count="blobs">
            {d.blobs.atLeast ? '≥ ' : ''}
            {d.blobs.count.toLocaleString('en')}
          </div>
          <div class="muted">
            {d.blobs.atLeast ? 'at least ' : ''}
            {formatBytes(d.blobs.bytes)}
            {d.blobs.atLeast && ` (counting stops after ${(BLOB_LIST_PAGES * 1000).toLocaleString('en')} blobs)`}
          </div>
        </div>
        <div class="box">
          <div class="muted">this relay</div>
          <div class="mono">{self ?? '(URL not configured)'}</div>
          <div class="muted">{d.peers.length} peer{d.peers.length === 1 ? '' : 's'}</div>
        </div>
      </div>

      <Section title="Peers" id="peers">
        {d.peers.length === 0 ? (
          <p class="muted">No peers: this relay neither pushes to nor pulls from anyone.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>peer</th>
                <th>last sync</th>
                <th>state</th>
                <th>pulled</th>
                <th>cursor</th>
              </tr>
            </thead>
            <tbody>
              {d.peers.map((p) => (
                <tr data-peer={p.url}>
                  <td class="mono">{p.url}</td>
                  <td>{p.lastOk ? <Time ms={p.lastOk} /> : <span class="muted">never</span>}</td>
                  <td>
                    {p.failures === 0 ? (
                      <Badge kind="ok">ok</Badge>
                    ) : (
                      <>
                        <Badge kind="bad">
                          {p.failures} failure{p.failures === 1 ? '' : 's'}
                        </Badge>{' '}
                        {p.retryAt > now && <span class="muted">retry after {formatTime(p.retryAt)}</span>}
                        {p.lastError && (
                          <div class="u muted">
                            <small>{cut(p.lastError, 200)}</small>
                          </div>
                        )}
                      </>
                    )}
                  </td>
                  <td>
                    {p.pulled}
                    {p.invalid > 0 && <span class="muted"> ({p.invalid} refused)</span>}
                  </td>
                  <td class="mono">{p.cursor || '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <p class="muted">
          Last sync is the last successful pull from the peer (a pull runs every minute); pushes happen as statements arrive.
        </p>
      </Section>

      <Section title="Gossip counters" id="gossip">
        <p class="muted">Since this instance started (a deployed relay runs several instances, each with its own counters).</p>
        <table>
          <tbody>
            {Object.entries(gossip).map(([k, v]) => (
              <tr>
                <td>{counterName(k)}</td>
                <td>{v.toLocaleString('en')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
    </>
  )
}

/** What each gossip counter counts, in words (src/gossip/stats.ts). */
const COUNTER_NAMES: Record<string, string> = {
  pushReceived: 'statements received in pushes',
  pushReceivedNew: 'of those, new to this relay',
  pushReceivedRequests: 'push requests received',
  pushedStatements: 'statements pushed to peers',
  pushRequests: 'push requests sent',
  pushFailures: 'pushes that failed',
  pulled: "statements stored from peers' feeds",
  pullPages: 'feed pages pulled',
  pullBytes: 'bytes pulled',
  pullInvalid: 'invalid statements dropped from pulls',
  pullFailures: 'pulls that failed',
  peerRequests: "requests signed by a configured peer's key",
  badSignatures: 'requests refused for a bad signature',
  overCap: "requests over this relay's advertised caps",
}

/** A counter's name in words; one added later without a name here still reads as words (`pullBytes` → "pull bytes"). */
export const counterName = (key: string): string => COUNTER_NAMES[key] ?? key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase()
