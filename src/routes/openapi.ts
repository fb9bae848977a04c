import { createRouter } from '../app.ts'
import { EXPLORER_PATHS } from '../explorer/openapi.ts'
import { LOG_PATHS } from '../log/openapi.ts'
import { WITNESS_PATHS } from '../witness/openapi.ts'
import { LIMITS } from '../verify/index.ts'
import { SOFTWARE } from '../version.ts'

const error = { $ref: '#/components/schemas/Error' }
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: error } } })
const page = { $ref: '#/components/schemas/Page' }
const term = (name: string) => ({
  name,
  in: 'query',
  schema: { type: 'string' },
  description: `Exact ${name}. Hashes may be sha256-<base64> (percent-encoded), sha256-<base64url> or sha256:<hex>.`,
})

const hashParam = { name: 'hash', in: 'path', required: true, schema: { type: 'string' }, description: 'sha256-<base64> (percent-encoded), sha256-<base64url> or sha256:<hex>; also sha384, sha512' }

/** The HTTP API as OpenAPI 3.1. docs/PROTOCOL.md is the normative text; a test keeps the two in step. */
export const OPENAPI = {
  openapi: '3.1.0',
  info: { title: 'vouch relay', version: SOFTWARE.version, description: 'Signed statements about open-source software. See docs/PROTOCOL.md.' },
  paths: {
    '/v1/statements': {
      post: {
        summary: `Submit one statement (a JSON object) or a batch (a JSON array of at most ${LIMITS.batchItems})`,
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { oneOf: [{ $ref: '#/components/schemas/Statement' }, { type: 'array', maxItems: LIMITS.batchItems, items: { $ref: '#/components/schemas/Statement' } }] } } },
        },
        responses: {
          '200': { description: 'Per-item results; at least one item was accepted or already held', content: { 'application/json': { schema: { $ref: '#/components/schemas/SubmitResult' } } } },
          '400': errorResponse('The body is not strict JSON (malformed, duplicate keys, huge numbers, too deep, not UTF-8)'),
          '413': errorResponse(`Body over ${LIMITS.bodyBytes} bytes or more than ${LIMITS.batchItems} items`),
          '403': errorResponse('not_admitted: every item was refused by the relay\'s admission mode'),
          '415': errorResponse('Content-Type is not application/json'),
          '422': errorResponse('Every item was rejected; per-item reasons are in results'),
          '429': errorResponse('quota_exceeded (nothing accepted, some item over a daily quota; Retry-After) or rate_limited (Retry-After: 60)'),
        },
      },
      get: {
        summary: 'Statements matching every given field, in arrival order, paginated',
        parameters: [
          term('subject'),
          { name: 'claim', in: 'query', schema: { type: 'string' } },
          term('object'),
          { name: 'actor', in: 'query', schema: { type: 'string', pattern: '^did:key:z' } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: LIMITS.pageMax, default: LIMITS.pageDefault } },
          { name: 'cursor', in: 'query', schema: { type: 'string' }, description: 'Opaque; from the previous page' },
        ],
        responses: { '200': { description: 'A page; cursor is null on the last page', content: { 'application/json': { schema: page } } }, '400': errorResponse('Unknown parameter, bad hash, bad cursor or no filter') },
      },
    },
    '/v1/statements/lookup': {
      post: {
        summary: `Bodies of the statements with the given ids (at most ${LIMITS.pageMax}) that this relay holds`,
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, required: ['ids'], properties: { ids: { type: 'array', maxItems: LIMITS.pageMax, items: { type: 'string' } } } } } } },
        responses: { '200': { description: 'The statements held, in arrival order; cursor is null', content: { 'application/json': { schema: page } } }, '400': errorResponse('Malformed body or id'), '413': errorResponse('Too many ids') },
      },
    },
    '/v1/statements/bulk': {
      post: {
        summary: 'Statements about any of up to 1000 subjects or objects together (a lockfile), optionally only some claims, in arrival order, paginated',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                additionalProperties: false,
                properties: {
                  subjects: { type: 'array', maxItems: 1000, items: { type: 'string', minLength: 1 } },
                  objects: { type: 'array', maxItems: 1000, items: { type: 'string', minLength: 1 }, description: 'Statements whose object is one of these (e.g. a package, for its author grants); subjects and objects together 1–1000' },
                  claims: { type: 'array', minItems: 1, maxItems: 32, items: { type: 'string', minLength: 1, maxLength: LIMITS.claimLength } },
                  limit: { type: 'integer', minimum: 1, maximum: LIMITS.pageMax, default: LIMITS.pageDefault },
                  cursor: { type: ['string', 'null'], description: 'Opaque; from the previous page' },
                },
              },
            },
          },
        },
        responses: {
          '200': { description: 'A page ({statements, cursor, truncated}); cursor is null on the last page, else send it back with the same subjects and claims', content: { 'application/json': { schema: page } } },
          '400': errorResponse('Malformed body, subject, claim, limit or cursor'),
          '413': errorResponse('More than 1000 subjects'),
        },
      },
    },
    '/v1/statements/{id}': {
      get: {
        summary: 'One statement by id (immutable)',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'sha256-<base64> percent-encoded, sha256-<base64url>, or sha256:<hex>' }],
        responses: { '200': { description: 'The canonical statement', content: { 'application/json': { schema: { $ref: '#/components/schemas/Statement' } } } }, '400': errorResponse('Not a SHA-256 id'), '404': errorResponse('Not held here') },
      },
    },
    '/v1/feed': {
      get: {
        summary: 'Every statement in arrival order, for peers and mirrors',
        parameters: [
          { name: 'after', in: 'query', schema: { type: 'string' }, description: 'Cursor from the previous page; omit to start at the beginning' },
          { name: 'view', in: 'query', schema: { enum: ['full', 'ids'], default: 'full' }, description: 'ids: {"ids": [...], "cursor", "more"} instead of statements' },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: LIMITS.pageMax, default: LIMITS.pageDefault } },
        ],
        responses: { '200': { description: 'A page; cursor is where to resume, more says whether to ask again now', content: { 'application/json': { schema: page } } }, '400': errorResponse('Bad cursor or limit') },
      },
    },
    '/v1/blobs/{hash}': {
      put: {
        summary: 'Upload a blob under its hash (admitted when a statement here names the hash, or with the operator token)',
        parameters: [hashParam],
        requestBody: { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
        responses: {
          '200': { description: 'Already held' },
          '201': { description: 'Stored' },
          '400': errorResponse('Not a sha256/sha384/sha512 name'),
          '403': errorResponse('No statement on this relay names the hash'),
          '411': errorResponse('Content-Length missing'),
          '413': errorResponse('Larger than BLOB_MAX_BYTES'),
          '422': errorResponse('The bytes do not hash to the name; nothing stored'),
        },
      },
      get: {
        summary: 'Download a blob; Range supported; fetched from peers when missing and named by a statement here',
        parameters: [hashParam, { name: 'range', in: 'header', schema: { type: 'string' } }],
        responses: {
          '200': { description: 'The bytes', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
          '206': { description: 'A byte range' },
          '304': { description: 'Not modified (If-None-Match)' },
          '400': errorResponse('Malformed name'),
          '404': errorResponse('Not held and not found at any source'),
          '416': errorResponse('Range beyond the end'),
          '502': errorResponse('Every source that had it served wrong bytes'),
        },
      },
      head: { summary: 'Blob size and headers', parameters: [hashParam], responses: { '200': { description: 'Headers only' }, '404': errorResponse('Not held') } },
    },
    '/v1/admin/peers': {
      get: { summary: 'Operator: peers with their sync state (cursor, failures, back-off)', security: [{ bearer: [] }], responses: { '200': { description: 'Peers' }, '401': errorResponse('Missing or wrong token'), '404': errorResponse('Admin endpoints are off (no ADMIN_TOKEN)') } },
      put: {
        summary: 'Operator: replace the managed peer list (peers from the PEERS variable stay)',
        security: [{ bearer: [] }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['peers'], properties: { peers: { type: 'array', maxItems: 100, items: { type: 'string', format: 'uri' } } } } } } },
        responses: { '200': { description: 'The peers now in force' }, '400': errorResponse('A URL is malformed, private (without ALLOW_PRIVATE_PEERS) or this relay itself'), '401': errorResponse('Missing or wrong token') },
      },
    },
    '/v1/admin/pull': { post: { summary: 'Operator: run one pull round now (the cron runs one each minute)', security: [{ bearer: [] }], responses: { '200': { description: 'Per-peer reports' }, '401': errorResponse('Missing or wrong token') } } },
    '/.well-known/vouch': { get: { summary: 'Relay information: protocol version, software, limits', responses: { '200': { description: 'Relay information' } } } },
    '/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
    ...EXPLORER_PATHS,
    ...LOG_PATHS,
    ...WITNESS_PATHS,
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The ADMIN_TOKEN secret' } },
    schemas: {
      Statement: {
        type: 'object',
        additionalProperties: false,
        required: ['v', 'actor', 'subject', 'claim', 'time', 'sig'],
        properties: {
          v: { const: 1 },
          actor: { type: 'string', pattern: '^did:key:z6Mk' },
          subject: { type: 'string', minLength: 1 },
          claim: { type: 'string', pattern: '^[a-z][a-z0-9._:/-]*$', maxLength: LIMITS.claimLength },
          object: { type: 'string', minLength: 1 },
          not: { const: true },
          time: { type: 'integer', minimum: 0 },
          meta: { type: 'object' },
          sig: { type: 'string', minLength: 86, maxLength: 86 },
        },
      },
      Error: { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } } },
      Page: { type: 'object', required: ['statements', 'cursor'], properties: { statements: { type: 'array', items: { $ref: '#/components/schemas/Statement' } }, cursor: { type: ['string', 'null'] }, more: { type: 'boolean' } } },
      SubmitResult: {
        type: 'object',
        properties: {
          accepted: { type: 'integer' },
          duplicate: { type: 'integer' },
          rejected: { type: 'integer' },
          results: { type: 'array', items: { type: 'object', required: ['index', 'status'], properties: { index: { type: 'integer' }, id: { type: 'string' }, status: { enum: ['accepted', 'duplicate', 'rejected'] }, error: error } } },
        },
      },
    },
  },
} as const

export const openapi = createRouter()
openapi.get('/', (c) => c.json(OPENAPI))
