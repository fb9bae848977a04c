import { base64url, hexForm, parseSri } from '../verify/index.ts'
import { Actor, Badge, Claim, col, metaString, None, Section, StatementLink, StatementTable, Term, Time, Truncated } from './components.tsx'
import { inForceRows, type HashData } from './data.ts'
import { Builds, Reviews } from './builds.tsx'
import { blobHref, cut, formatBytes, formatTime, visible } from './text.ts'

/** Everything claimed about one hash, and whether this relay has its bytes. */

const api = (q: Record<string, string>) => `/v1/statements?${new URLSearchParams(q)}`

export const isEmptyHash = (d: HashData) => !d.asSubject.items.length && !d.asObject.items.length && !d.blob && !d.statement

export function HashPage({ d, now }: { d: HashData; now: number }) {
  const digest = parseSri(d.hash)!
  const sources = inForceRows(
    d.asObject.items.filter((r) => r.statement.claim === 'source' || r.statement.claim === 'published'),
    now,
  )
  const outputOf = inForceRows(
    d.asObject.items.filter((r) => r.statement.claim === 'build'),
    now,
  )
  const builds = d.asSubject.items.filter((r) => r.statement.claim === 'build')
  const reviews = d.asSubject.items.filter((r) => r.statement.claim === 'review')
  return (
    <>
      <p class="muted">hash</p>
      <h1 class="mono">{d.hash}</h1>
      <dl class="kv">
        <dt>hex (for URLs)</dt>
        <dd class="mono">{hexForm(digest)}</dd>
        <dt>base64url</dt>
        <dd class="mono">
          {digest.alg}-{base64url.encode(digest.bytes)}
        </dd>
      </dl>

      <Section title="Blob in this relay's cache" id="blob">
        {d.blob ? (
          <div class="box ok">
            <Badge kind="ok">cached</Badge> {formatBytes(d.blob.size)} ({d.blob.size} bytes), stored {formatTime(d.blob.uploaded.getTime())}.{' '}
            <a href={blobHref(d.hash)} download="">
              Download
            </a>{' '}
            <span class="muted">(check the bytes against the hash you trust, not against this page)</span>
          </div>
        ) : !d.blobAlgorithm ? (
          <p class="muted">Blobs are named by sha256, sha384 or sha512; a sha1 hash has no blob.</p>
        ) : (
          <div class="box">
            <Badge kind="info">not cached</Badge> This relay does not hold these bytes.{' '}
            {d.asSubject.items.length + d.asObject.items.length > 0 ? (
              <>
                A statement here names the hash, so <a href={blobHref(d.hash)}>downloading</a> asks this relay's peers for it.
              </>
            ) : (
              'No statement here names it, so it cannot be uploaded here either.'
            )}
          </div>
        )}
      </Section>

      {d.statement && (
        <Section title="A statement with this id" id="statement">
          <p>
            <Actor did={d.statement.statement.actor} /> claims <Term value={d.statement.statement.subject} /> <Claim row={d.statement} />{' '}
            {d.statement.statement.object !== undefined && <Term value={d.statement.statement.object} />} <Time ms={d.statement.statement.time} />{' '}
            <StatementLink id={d.statement.id} />
          </p>
        </Section>
      )}

      {sources.length > 0 && (
        <Section title="Source of" id="source-of">
          <StatementTable
            rows={sources}
            order="given"
            columns={[
              { ...col.subject, head: 'package version' },
              { ...col.actor, head: 'by' },
              col.time,
              {
                head: '',
                cell: (r) => (
                  <>
                    {r.statement.not ? <Badge kind="bad">yanked{metaString(r, 'reason') ? `: ${cut(visible(metaString(r, 'reason')!), 80)}` : ''}</Badge> : <Badge kind="ok">{r.statement.claim}</Badge>} <StatementLink id={r.id} />
                  </>
                ),
              },
            ]}
          />
        </Section>
      )}

      {builds.length > 0 && (
        <Section title="Built into" id="builds">
          <Builds hash={d.hash} rows={builds} now={now} showHash={false} />
        </Section>
      )}

      {outputOf.length > 0 && (
        <Section title="Output of builds" id="output-of">
          <StatementTable
            rows={outputOf}
            order="given"
            columns={[
              {
                head: 'source',
                cell: (r) => (
                  <>
                    <Term value={r.statement.subject} /> {r.statement.not && <Badge kind="bad">withdrawn</Badge>}
                  </>
                ),
              },
              { ...col.actor, head: 'builder' },
              { head: 'system', cell: (r) => (metaString(r, 'system') ? <code class="u">{cut(visible(metaString(r, 'system')!), 40)}</code> : <None />) },
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
        </Section>
      )}

      {reviews.length > 0 && (
        <Section title="Reviews" id="reviews">
          <Reviews hash={d.hash} rows={reviews} now={now} showHash={false} />
        </Section>
      )}

      <Section title="Every claim about this hash" id="all">
        <h3>With the hash as subject</h3>
        <StatementTable rows={d.asSubject.items} hide={['subject']} />
        <Truncated list={d.asSubject} api={api({ subject: d.hash })} />
        <h3>With the hash as object</h3>
        <StatementTable rows={d.asObject.items} hide={['object']} />
        <Truncated list={d.asObject} api={api({ object: d.hash })} />
      </Section>
    </>
  )
}
