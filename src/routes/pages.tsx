import { createRouter } from '../app.ts'
import { SOFTWARE } from '../version.ts'

/** Pages carry a CSP that forbids scripts: subjects and meta are attacker-controlled text. */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

export const pages = createRouter()

pages.get('/', (c) => {
  c.header('content-security-policy', PAGE_CSP)
  c.header('x-content-type-options', 'nosniff')
  return c.html(
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>vouch relay</title>
        <style>{'body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem}code{background:#f3f3f3;padding:0 .2em}'}</style>
      </head>
      <body>
        <h1>vouch relay</h1>
        <p>
          This is a relay of <strong>vouch</strong>, a federated network of signed, self-verifying claims about
          open-source software: who made this, who built it, and who vouches for whom. The relay keeps and serves
          statements; it never asks you to trust it, because every statement carries its author's signature.
        </p>
        <ul>
          <li><a href="/.well-known/vouch">/.well-known/vouch</a>: protocol version and limits</li>
          <li><a href="/openapi.json">/openapi.json</a>: the HTTP API</li>
          <li><a href="/v1/feed?limit=10">/v1/feed</a>: every statement in arrival order</li>
          <li><code>GET /v1/statements?subject=…</code>, <code>POST /v1/statements</code></li>
        </ul>
        <p><small>{SOFTWARE.name} {SOFTWARE.version}</small></p>
      </body>
    </html>,
  )
})
