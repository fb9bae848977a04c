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
      summary: 'Explorer: a key, its alias claims (proofs checked with ?check=1), what it claimed and who vouches for it',
      parameters: [
        { name: 'did', in: 'path', required: true, schema: { type: 'string', pattern: '^did:key:z6Mk' } },
        { name: 'check', in: 'query', schema: { enum: ['1'] }, description: 'Check the alias proofs now (outbound requests, 4 s timeout each)' },
      ],
      responses: { '200': html('HTML'), '400': htmlError('Not a did:key'), '404': htmlError('Nothing about it here') },
    },
  },
  '/trust': {
    get: {
      summary: 'Explorer: the trust view form; with package and policy, the verdict and its explanation graph',
      parameters: [
        { name: 'package', in: 'query', schema: { type: 'string' } },
        { name: 'policy', in: 'query', schema: { type: 'string' }, description: 'A policy document (docs/POLICY.md) as JSON text' },
      ],
      responses: { '200': html('HTML'), '400': htmlError('Invalid policy or package') },
    },
    post: {
      summary: 'Explorer: evaluate a policy (pasted or uploaded) for a package version',
      requestBody: {
        required: true,
        content: {
          'multipart/form-data': {
            schema: { type: 'object', properties: { package: { type: 'string' }, policy: { type: 'string' }, policyFile: { type: 'string', format: 'binary' }, checkAliases: { enum: ['1'] } } },
          },
          'application/x-www-form-urlencoded': { schema: { type: 'object', properties: { package: { type: 'string' }, policy: { type: 'string' }, checkAliases: { enum: ['1'] } } } },
        },
      },
      responses: { '200': html('The verdict'), '400': htmlError('Invalid policy or package'), '411': htmlError('No Content-Length'), '413': htmlError('Form over 72 KiB') },
    },
  },
  '/status': {
    get: { summary: 'Explorer: relay status: statement and blob counts, peers and their last sync', responses: { '200': html('HTML') } },
  },
} as const
