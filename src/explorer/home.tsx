import { Badge, col, StatementTable, Truncated } from './components.tsx'
import { inForceRows, type Bounded, type Row } from './data.ts'
import { cut, visible } from './text.ts'

/** The front page: what a relay is, a search box, and what arrived last. */
export function HomePage({ latest }: { latest: Row[] }) {
  return (
    <>
      <h1>vouch relay</h1>
      <p>
        This is a relay of <strong>vouch</strong>, a federated network of signed, self-verifying claims about open-source
        software: who made this, who built it, and who vouches for whom. The relay keeps and serves statements; it never asks
        you to trust it, because every statement carries its author's signature.
      </p>
      <form method="get" action="/search" class="searchbig" role="search">
        <input type="search" name="q" placeholder="mylib@1.2.3 · pkg:npm/left-pad@1.3.0 · sha256:… · did:key:z6Mk… · dns:example.org" aria-label="Search" autofocus />
        <button type="submit">Search</button>
      </form>
      <p class="muted">
        Search for a package (<code>mylib@1.2.3</code> means <code>pkg:generic/mylib@1.2.3</code>), a hash in any form, a key
        (<code>did:key:…</code>) or an alias (<code>dns:example.org</code>, <code>github:alice</code>). The{' '}
        <a href="/trust">trust view</a> applies a policy to a package; <a href="/status">relay status</a> shows peers and counts.
      </p>
      <h2>For programs</h2>
      <ul>
        <li>
          <a href="/.well-known/vouch">/.well-known/vouch</a>: protocol version and limits
        </li>
        <li>
          <a href="/openapi.json">/openapi.json</a>: the HTTP API
        </li>
        <li>
          <a href="/v1/feed?limit=10">/v1/feed</a>: every statement in arrival order
        </li>
        <li>
          <code>GET /v1/statements?subject=…</code>, <code>POST /v1/statements</code>
        </li>
      </ul>
      <h2>Latest statements</h2>
      <StatementTable rows={latest} />
    </>
  )
}

/** Keys that claim an alias. Claims only: whether a key proves it is checked on its page. */
export function AliasResults({ alias, rows, now }: { alias: string; rows: Bounded<Row>; now: number }) {
  const current = inForceRows(
    rows.items.filter((r) => r.statement.actor === r.statement.subject),
    now,
  )
  return (
    <>
      <p class="muted">alias</p>
      <h1 class="u">{visible(alias)}</h1>
      {current.length === 0 ? (
        <div class="box warn">No key claims this alias on this relay.</div>
      ) : (
        <>
          <p>
            {current.filter((r) => !r.statement.not).length} key(s) claim to be <code class="u">{cut(visible(alias), 80)}</code>.
            A claim proves nothing by itself: anyone can claim any name. Open a key to check its proof.
          </p>
          <StatementTable
            rows={current}
            order="given"
            columns={[
              { ...col.actor, head: 'key' },
              { ...col.time, head: 'claimed' },
              { head: '', cell: (r) => (r.statement.not ? <Badge kind="info">withdrawn</Badge> : <Badge kind="warn">claimed, not checked</Badge>) },
            ]}
          />
          <Truncated list={rows} />
        </>
      )}
    </>
  )
}

export function SearchProblem({ q, message }: { q: string; message: string }) {
  return (
    <>
      <h1>Nothing to show</h1>
      <div class="box bad">
        <p>
          <code class="u">{cut(visible(q), 200)}</code>: {message}.
        </p>
      </div>
      <p class="muted">
        Examples: <code>mylib@1.2.3</code>, <code>pkg:npm/left-pad@1.3.0</code>, <code>sha256:e3b0c442…</code>,{' '}
        <code>did:key:z6Mk…</code>, <code>dns:example.org</code>.
      </p>
    </>
  )
}

export function ErrorPage({ status, message, code }: { status: number; message: string; code?: string }) {
  return (
    <>
      <h1>{status === 404 ? 'Not found' : status >= 500 ? 'Something went wrong' : 'Cannot show that'}</h1>
      <div class="box bad" data-error={code}>
        <p class="u">{cut(visible(message), 500)}</p>
      </div>
      <p>
        <a href="/">Back to the start</a>
      </p>
    </>
  )
}
