/** The log's routes as OpenAPI path items (spread into /openapi.json); PROTOCOL §6.10 is normative. */
const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } })

export const LOG_PATHS = {
  '/v1/log/checkpoint': {
    get: {
      summary: 'The log\'s signed checkpoint (C2SP tlog-checkpoint in a signed note), at most ~1 s behind ingest',
      responses: { '200': { description: 'The note', content: { 'text/plain': { schema: { type: 'string' } } } }, '404': error('no_log: the relay has no RELAY_KEY') },
    },
  },
  '/v1/log/tile/{path}': {
    get: {
      summary: 'A tile (`<L>/<N>[.p/<W>]`: 32-byte hashes) or entry bundle (`entries/<N>[.p/<W>]`), as C2SP tlog-tiles lays them out; immutable',
      parameters: [{ name: 'path', in: 'path', required: true, schema: { type: 'string' }, description: 'e.g. 0/x001/234.p/17 or entries/000' }],
      responses: {
        '200': { description: 'Tile bytes', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
        '400': error('bad_tile_path: not the canonical spelling of a tile'),
        '404': error('no_tile (the log does not have it yet) or no_log'),
      },
    },
  },
  '/v1/log/witnessed': {
    get: {
      summary: 'A witnessed checkpoint (PROTOCOL §6.13): the latest, or with index the earliest whose tree includes that leaf; the signed note with its witness cosignature lines',
      parameters: [{ name: 'index', in: 'query', required: false, schema: { type: 'integer', minimum: 0 }, description: 'a leaf index, canonical decimal' }],
      responses: {
        '200': { description: 'The note', content: { 'text/plain': { schema: { type: 'string' } } } },
        '400': error('bad_index or bad_query'),
        '404': error('not_witnessed (no witnessed checkpoint includes that leaf yet) or no_log'),
      },
    },
  },
}
