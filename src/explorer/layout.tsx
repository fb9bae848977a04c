import type { Context } from 'hono'
import { html } from 'hono/html'
import type { Child } from 'hono/jsx'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { base64, sha256, utf8 } from '../verify/index.ts'
import { SOFTWARE } from '../version.ts'
import { cut, visible } from './text.ts'

/**
 * The page frame and its headers. Pages carry no script at all, and the one stylesheet is allowed
 * by its hash, so even if some text escaped escaping it could neither run nor restyle the page.
 */

/** The stylesheet. It must not contain & < > " ' (JSX would escape them and the hash would not match). */
export const CSS = [
  ':root{--fg:#1d2327;--muted:#5f6b73;--line:#d9dee2;--bg:#fff;--soft:#f5f7f8;--ok:#1f7a35;--okbg:#e7f4ea;--bad:#b3261e;--badbg:#fdecea;--warn:#8a5a00;--warnbg:#fff4dc;--link:#0b57d0}',
  '*{box-sizing:border-box}',
  'body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0}',
  'header.top{background:#15202b;color:#fff;padding:.6rem 1rem}',
  'header.top .in{max-width:72rem;margin:0 auto;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}',
  'header.top a{color:#fff;text-decoration:none}',
  'header.top a.brand{font-weight:700;font-size:1.1rem;letter-spacing:.02em}',
  'header.top nav{display:flex;gap:1rem;font-size:.9rem}',
  'header.top form{margin-left:auto;display:flex;gap:.3rem;flex:1;max-width:28rem}',
  'header.top input{flex:1;min-width:8rem}',
  'main{max-width:72rem;margin:0 auto;padding:1rem}',
  'footer{max-width:72rem;margin:2rem auto;padding:0 1rem;color:var(--muted);font-size:.85rem}',
  'a{color:var(--link)}',
  'h1{font-size:1.45rem;margin:.6rem 0 .3rem;overflow-wrap:anywhere}',
  'h2{font-size:1.15rem;margin:1.6rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}',
  'h3{font-size:1rem;margin:1rem 0 .4rem}',
  // max-width: a sized input (size=60) must not push a phone-width page sideways.
  'input,textarea,button,select{font:inherit;padding:.35rem .5rem;border:1px solid #aab4bb;border-radius:4px;max-width:100%;box-sizing:border-box}',
  'button{background:#15202b;color:#fff;border-color:#15202b;cursor:pointer}',
  'textarea{width:100%;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}',
  'code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88em}',
  'code{background:var(--soft);padding:0 .25em;border-radius:3px}',
  '.u{unicode-bidi:isolate;overflow-wrap:anywhere;word-break:break-word}',
  '.nw{white-space:nowrap}',
  '.muted{color:var(--muted)}',
  'table{border-collapse:collapse;width:100%;margin:.4rem 0;font-size:.92rem}',
  'th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}',
  'th{font-weight:600;color:var(--muted);font-size:.82rem;text-transform:uppercase;letter-spacing:.03em}',
  // A meta column narrower than ~14rem wrapped its JSON nearly a character a line.
  'td.meta{min-width:14rem;max-width:26rem}',
  'pre.json{margin:0;white-space:pre-wrap;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;line-height:1.35;background:var(--soft);padding:.2rem .4rem;border-radius:3px}',
  // A phone (390 px): times may wrap, and a table still too wide scrolls inside itself, not the page.
  '@media (max-width:600px){time.nw{white-space:normal}table{display:block;overflow-x:auto}}',
  '.badge{display:inline-block;padding:0 .45em;border-radius:999px;font-size:.78rem;font-weight:600;border:1px solid transparent;white-space:nowrap}',
  '.b-ok{background:var(--okbg);color:var(--ok);border-color:#b7dfc0}',
  '.b-bad{background:var(--badbg);color:var(--bad);border-color:#f3b9b3}',
  '.b-warn{background:var(--warnbg);color:var(--warn);border-color:#f1d08a}',
  '.b-info{background:var(--soft);color:var(--muted);border-color:var(--line)}',
  '.box{border:1px solid var(--line);border-radius:6px;padding:.6rem .8rem;margin:.6rem 0;background:var(--bg)}',
  '.box.ok{border-color:#b7dfc0;background:var(--okbg)}',
  '.box.bad{border-color:#f3b9b3;background:var(--badbg)}',
  '.box.warn{border-color:#f1d08a;background:var(--warnbg)}',
  '.chips{display:flex;flex-wrap:wrap;gap:.35rem;padding:0;margin:.3rem 0;list-style:none}',
  '.chips li a,.chips li span{display:inline-block;padding:.1rem .55rem;border:1px solid var(--line);border-radius:999px;text-decoration:none;background:var(--soft)}',
  '.chips li.cur span{background:#15202b;color:#fff;border-color:#15202b}',
  '.kv{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.4rem 0}',
  '.kv dt{color:var(--muted)}',
  '.kv dd{margin:0;overflow-wrap:anywhere}',
  '.builders{margin:.2rem 0 0;padding-left:1.1rem}',
  'details{margin:.6rem 0}',
  'summary{cursor:pointer;color:var(--link)}',
  '.graphwrap{overflow-x:auto;border:1px solid var(--line);border-radius:6px;background:#fbfcfc;padding:.3rem;margin:.6rem 0}',
  'svg.graph text{font-family:system-ui,sans-serif;fill:#1d2327}',
  'svg.graph .node-rule{font-size:12px;font-weight:700}',
  'svg.graph .node-text{font-size:11px}',
  'svg.graph .edge{fill:none;stroke:#9aa5ad;stroke-width:1.5}',
  'svg.graph .edge-bad{stroke:#d9827b;stroke-dasharray:4 3}',
  'svg.graph .node rect{stroke-width:1.5}',
  'svg.graph .node-ok rect{fill:#e7f4ea;stroke:#1f7a35}',
  'svg.graph .node-bad rect{fill:#fdecea;stroke:#b3261e}',
  'svg.graph .node-more rect{fill:#f5f7f8;stroke:#9aa5ad;stroke-dasharray:3 3}',
  'svg.graph .verdict-trusted rect{fill:#1f7a35;stroke:#1f7a35}',
  'svg.graph .verdict-untrusted rect{fill:#b3261e;stroke:#b3261e}',
  'svg.graph .verdict-conflict rect{fill:#b86e00;stroke:#b86e00}',
  'svg.graph g[class*=verdict-] text{fill:#fff}',
  // pre-wrap: a long subject or hash in the text tree wraps instead of running off a phone's screen.
  'pre.tree{background:var(--soft);padding:.6rem .8rem;border-radius:6px;overflow-x:auto;font-size:12.5px;line-height:1.45;white-space:pre-wrap;overflow-wrap:anywhere}',
  '.legend{display:flex;gap:.8rem;font-size:.85rem;color:var(--muted);flex-wrap:wrap}',
  '.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:1rem}',
  '.big{font-size:1.6rem;font-weight:700}',
  '.searchbig{display:flex;gap:.4rem;margin:1rem 0}',
  '.searchbig input{flex:1;font-size:1.1rem;padding:.5rem .7rem}',
  '.err{color:var(--bad)}',
  'label{display:block;margin:.6rem 0 .2rem;font-weight:600}',
  'label.inline{display:inline;font-weight:400}',
].join('\n')

if (/[&<>"']/.test(CSS)) throw new Error('CSS must not contain & < > " or \' (JSX escapes them, which would break the CSP hash)')

let cspPromise: Promise<string> | undefined
/** The page CSP: nothing may load or run except this stylesheet (by hash) and same-origin forms and images. */
export function pageCsp(): Promise<string> {
  cspPromise ??= sha256(utf8(CSS)).then(
    (d) => `default-src 'none'; style-src 'sha256-${base64.encode(d.bytes)}'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
  )
  return cspPromise
}

/** Renders a page with the explorer's headers. */
export async function render(c: Context, status: ContentfulStatusCode, title: string, body: Child, o: { q?: string } = {}): Promise<Response> {
  c.header('content-security-policy', await pageCsp())
  c.header('x-content-type-options', 'nosniff')
  // `same-origin`, not `no-referrer`: links out still send no Referer (page URLs carry searches),
  // but with `no-referrer` browsers send `Origin: null` on the pages' own form POSTs, which the
  // cross-site check (src/http/guards.ts) must refuse.
  c.header('referrer-policy', 'same-origin')
  c.header('cache-control', 'no-store')
  return c.html(
    html`<!DOCTYPE html>${(
      <Layout title={title} q={o.q}>
        {body}
      </Layout>
    )}`,
    status,
  )
}

export function Layout({ title, q, children }: { title: string; q?: string; children?: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>{`${cut(visible(title), 80)} · vouch relay`}</title>
        <style>{CSS}</style>
      </head>
      <body>
        <header class="top">
          <div class="in">
            <a class="brand" href="/">
              vouch
            </a>
            <nav>
              <a href="/trust">Trust view</a>
              <a href="/status">Relay status</a>
            </nav>
            <form method="get" action="/search" role="search">
              <input type="search" name="q" value={q ?? ''} placeholder="mylib@1.2.3, sha256:…, did:key:…, dns:…" aria-label="Search" />
              <button type="submit">Search</button>
            </form>
          </div>
        </header>
        <main>{children}</main>
        <footer>
          Every statement here is signed by its author and was verified by this relay when it arrived; the relay vouches for
          nothing itself. API: <a href="/.well-known/vouch">/.well-known/vouch</a> · <a href="/openapi.json">/openapi.json</a> ·{' '}
          <a href="/v1/feed?limit=10">/v1/feed</a> · {SOFTWARE.name} {SOFTWARE.version}
        </footer>
      </body>
    </html>
  )
}
