import { renderExplanation } from '../policy/index.ts'
import { Badge, Section, Term, Time } from './components.tsx'
import { TrustGraph } from './graph.tsx'
import { cut, visible } from './text.ts'
import type { TrustInput, TrustResult } from './trust.ts'

/** The trust view: a form (policy + package) and, once sent, the verdict with its explanation as a graph and as text. */

const EXAMPLE = `{
  "version": 1,
  "trust": { "keys": ["did:key:z6Mk…"] },
  "builds": { "agree": 2 }
}`

export function TrustPage({ input, result }: { input: Partial<TrustInput>; result?: TrustResult }) {
  const err = result && !result.ok ? result : undefined
  return (
    <>
      <h1>Trust view</h1>
      {/* The verdict first: it is what the reader came for, and the form below still holds the inputs. */}
      {result?.ok && <Result result={result} />}
      <p>
        Paste (or upload) a policy and name a package version: the relay runs the policy engine over
        the statements it holds and shows the verdict with the rules and statements it rests on. The policy format is in
        docs/POLICY.md. This is a preview from one relay's view; your own client, with your own policy file, is what to rely on.
      </p>
      <form method="post" action="/trust" enctype="multipart/form-data" class="box">
        <label for="package">Package version</label>
        <input id="package" name="package" value={input.subject ?? ''} placeholder="pkg:generic/mylib@1.2.3 or mylib@1.2.3" size={60} required />
        {err?.field === 'subject' && <p class="err">{err.message}</p>}
        <label for="policy">Policy (JSON)</label>
        <textarea id="policy" name="policy" rows={10} placeholder={EXAMPLE}>
          {input.policyText ?? ''}
        </textarea>
        {err?.field === 'policy' && <p class="err u">{cut(err.message, 2000)}</p>}
        <label for="policyFile">…or upload a policy file</label>
        <input id="policyFile" type="file" name="policyFile" accept=".json,application/json" />
        <p>
          <input id="checkAliases" type="checkbox" name="checkAliases" value="1" checked={input.checkAliases ?? false} />{' '}
          <label for="checkAliases" class="inline">
            use alias proofs (needed for alias rules): Evaluate checks the ones this relay has no fresh result for, fetching
            each (up to 4 s each, a few checks per minute per visitor); a shared link only shows results already checked
          </label>
        </p>
        <button type="submit">Evaluate</button>
      </form>
    </>
  )
}

const verdictKind = { trusted: 'ok', untrusted: 'bad', conflict: 'warn' } as const

function Result({ result }: { result: Extract<TrustResult, { ok: true }> }) {
  const v = result.verdict
  return (
    <Section title="Verdict" id="verdict">
      <div class={`box ${verdictKind[v.verdict]}`} data-verdict={v.verdict}>
        <span class="big">{v.verdict}</span> <span class="u">{cut(visible(v.subject), 200)}</span>
        <dl class="kv">
          <dt>source</dt>
          <dd>{v.source ? <Term value={v.source} /> : <span class="muted">none accepted</span>}</dd>
          <dt>builds</dt>
          <dd>
            {v.builds.length === 0 ? (
              <span class="muted">none accepted</span>
            ) : (
              v.builds.map((b) => (
                <div>
                  <code class="u">{b.system ? cut(visible(b.system), 40) : '(any system)'}</code> → <Term value={b.output} />{' '}
                  <span class="muted">
                    ({b.builders.length} builder{b.builders.length === 1 ? '' : 's'})
                  </span>
                </div>
              ))
            )}
          </dd>
          <dt>statements read</dt>
          <dd>
            {result.statements}
            {result.truncated && <Badge kind="warn">incomplete: the read stopped at this view's bounds, so the verdict may miss a yank or a revocation</Badge>}
            {result.truncated && <small class="u muted"> {cut(visible(result.incomplete.join('; ')), 400)}</small>}
          </dd>
        </dl>
      </div>
      {result.aliasChecks && result.aliasChecks.length > 0 && (
        <>
          <h3>Alias proofs</h3>
          <ul>
            {result.aliasChecks.map(({ did, alias, check }) => (
              <li data-alias-status={check ? (check.ok ? 'proven' : 'failed') : 'unchecked'}>
                {check ? <Badge kind={check.ok ? 'ok' : 'bad'}>{check.ok ? 'proven' : 'not proven'}</Badge> : <Badge kind="info">not checked yet</Badge>} <Term value={did} /> as{' '}
                <code class="u">{cut(visible(alias), 80)}</code>
                {check && (
                  <>
                    : <span class="u muted">{cut(visible(check.detail), 200)}</span> <span class="muted">(checked</span> <Time ms={check.checkedAt} />
                    <span class="muted">)</span>
                  </>
                )}
              </li>
            ))}
          </ul>
          {result.aliasChecks.some((c) => !c.check) && (
            <p class="muted">A proof not checked yet counts as not proven. Press Evaluate above (with alias proofs ticked) to check them now.</p>
          )}
        </>
      )}
      <h3>Why</h3>
      <div class="legend">
        <span>
          <Badge kind="ok">✓ held</Badge>
        </span>
        <span>
          <Badge kind="bad">✗ did not hold</Badge>
        </span>
        <span>read left to right; every box holds its full sentence</span>
      </div>
      <div class="graphwrap">
        <TrustGraph explanation={v.explanation} verdict={v.verdict} />
      </div>
      <details open>
        <summary>The same as text</summary>
        <pre class="tree u">{visible(renderExplanation(v.explanation))}</pre>
      </details>
    </Section>
  )
}
