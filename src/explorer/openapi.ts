/**
 * The explorer's pages as OpenAPI path items (HTML, for people; spread into /openapi.json so that
 * every route the relay serves is documented there).
 */
const html = (description: string) => ({ description, content: { 'text/html': { schema: { type: 'string' } } } })
const htmlError = (description: string) => html(description)

export const EXPLORER_PATHS = {
  '/': {
    get: {
      summary: 'Explorer: front page with a search box and the latest statements (HTML); `?q=` searches like /search',
      parameters: [{ name: 'q', in: 'query', schema: { type: 'string' } }],
      responses: { '200': html('HTML'), '303': { description: 'A search (q) that names a page: redirect to it' } },
    },
  },
  '/search': {
    get: {
      summary: 'Explorer: search for a package (mylib@1.2.3 or a purl), a hash (any URL form), a did:key or an alias',
      parameters: [{ name: 'q', in: 'query', schema: { type: 'string' } }],
      responses: {
        '200': html('Keys that claim the alias'),
        '303': { description: 'Redirect to the package, hash or actor page' },
        '400': htmlError('Not a package, hash, did:key or alias'),
        '404': htmlError('No key claims the alias'),
      },
    },
  },
  '/package/{purl}': {
    get: {
      summary: 'Explorer: a package or package version: versions, source hashes and who claims them, builds, reviews, yanks and revocations',
      parameters: [{ name: 'purl', in: 'path', required: true, schema: { type: 'string' }, description: 'A package URL, e.g. pkg:generic/mylib@1.2.3 (with / and @ as they are)' }],
      responses: { '200': html('HTML'), '400': htmlError('Not a package URL'), '404': htmlError('No statements about it here') },
    },
  },
  '/hash/{hash}': {
    get: {
      summary: 'Explorer: every claim about a hash, and whether its blob is cached here',
      parameters: [{ name: 'hash', in: 'path', required: true, schema: { type: 'string' }, description: 'sha256:<hex>, sha256-<base64url> or percent-encoded SRI' }],
      responses: { '200': html('HTML'), '400': htmlError('Not a hash'), '404': htmlError('Nothing about it here') },
    },
  },
  '/actor/{did}': {
    get: {
      summary: 'Explorer: a key, its alias claims with the proof results this relay has cached (or "not checked yet"), what it claimed and who vouches for it. Never fetches.',
      parameters: [{ name: 'did', in: 'path', required: true, schema: { type: 'string', pattern: '^did:key:z6Mk' } }],
      responses: { '200': html('HTML'), '400': htmlError('Not a did:key'), '404': htmlError('Nothing about it here') },
    },
    post: {
      summary:
        'Explorer: check the key\'s alias proofs that have no fresh cached result (at most 10, 4 s each), cache the results (success 1 h, failure 10 min), and redirect to the page. Counted against RATE_CHECKS per client IP when there is something to check.',
      parameters: [{ name: 'did', in: 'path', required: true, schema: { type: 'string', pattern: '^did:key:z6Mk' } }],
      responses: {
        '303': { description: 'Checked: back to the actor page (#aliases)' },
        '400': htmlError('Not a did:key'),
        '403': htmlError('cross_origin: sent by a page of another site (Origin or Sec-Fetch-Site)'),
        '429': htmlError('rate_limited: too many checks from this address; see Retry-After'),
      },
    },
  },
  '/trust': {
    get: {
      summary: 'Explorer: the trust view form; with package and policy, the verdict and its explanation graph',
      parameters: [
        { name: 'package', in: 'query', schema: { type: 'string' } },
        { name: 'policy', in: 'query', schema: { type: 'string' }, description: 'A policy document (docs/POLICY.md) as JSON text' },
        { name: 'checkAliases', in: 'query', schema: { enum: ['1'] }, description: 'Use the alias proofs this relay has cached (never fetches; the others show as not checked yet)' },
      ],
      responses: { '200': html('HTML'), '400': htmlError('Invalid policy or package') },
    },
    post: {
      summary:
        'Explorer: evaluate a policy (pasted or uploaded) for a package version; with checkAliases=1, first check the alias proofs without a fresh cached result (at most 16, rate limited like POST /actor/{did})',
      requestBody: {
        required: true,
        content: {
          'multipart/form-data': {
            schema: { type: 'object', properties: { package: { type: 'string' }, policy: { type: 'string' }, policyFile: { type: 'string', format: 'binary' }, checkAliases: { enum: ['1'] } } },
          },
          'application/x-www-form-urlencoded': { schema: { type: 'object', properties: { package: { type: 'string' }, policy: { type: 'string' }, checkAliases: { enum: ['1'] } } } },
        },
      },
      responses: {
        '200': html('The verdict'),
        '400': htmlError('Invalid policy or package'),
        '403': htmlError('cross_origin: sent by a page of another site'),
        '411': htmlError('No Content-Length'),
        '413': htmlError('Form over 72 KiB'),
        '429': htmlError('rate_limited: too many checks from this address; see Retry-After'),
      },
    },
  },
  '/status': {
    get: { summary: 'Explorer: relay status: statement and blob counts, peers and their last sync', responses: { '200': html('HTML') } },
  },
} as const
