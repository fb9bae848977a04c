/** The witness's routes as OpenAPI path items (spread into /openapi.json); PROTOCOL §6.11 is normative. */
const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } })
const text = (description: string) => ({ description, content: { 'text/plain': { schema: { type: 'string' } } } })

export const WITNESS_PATHS = {
  '/v1/witness/add-checkpoint': {
    post: {
      summary: "Submit a peer log's checkpoint with a consistency proof for a cosignature (C2SP tlog-witness)",
      requestBody: { required: true, content: { 'text/plain': { schema: { type: 'string', description: '`old <size>`, proof lines, an empty line, the checkpoint note' } } } },
      responses: {
        '200': text('The cosignature line(s) (tlog-cosignature v1)'),
        '400': error('bad_request, bad_checkpoint, bad_old_size, invalid_utf8'),
        '403': error('bad_log_signature'),
        '404': error('unknown_log, or no_witness'),
        '409': { description: 'The size last cosigned for this log', content: { 'text/x.tlog.size': { schema: { type: 'string' } } } },
        '413': error('body_too_large'),
        '422': error('inconsistent, bad_empty_root'),
      },
    },
  },
  '/v1/witness/{originHash}/checkpoint': {
    get: {
      summary: 'The latest checkpoint this witness cosigned for the log whose origin has this SHA-256 (hex)',
      parameters: [{ name: 'originHash', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{64}$' } }],
      responses: { '200': text('The checkpoint with the log signature and this cosignature'), '404': error('not_cosigned, or no_witness') },
    },
  },
}
