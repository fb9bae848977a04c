/**
 * Protocol limits. They are part of the protocol (served at /.well-known/vouch and listed in
 * docs/PROTOCOL.md): a statement one relay accepts must fit every other relay.
 */
export const LIMITS = {
  /** UTF-8 bytes of a statement's canonical signed form. */
  statementBytes: 4096,
  /** UTF-8 bytes of `subject` and of `object`. */
  termBytes: 1024,
  /** Characters of `claim`. */
  claimLength: 64,
  /** UTF-8 bytes of the canonical `meta` object. */
  metaBytes: 2048,
  /** Nesting inside `meta` (meta itself is depth 1). */
  metaDepth: 4,
  /** Statements a client may date into the future, in milliseconds (relay default). */
  futureSkewMs: 5 * 60 * 1000,
  /** Statements in one POST. */
  batchItems: 1000,
  /** Bytes of one POST body. */
  bodyBytes: 4 * 1024 * 1024,
  /** JSON nesting of a POST body: array > statement > meta (4 levels). */
  bodyDepth: 6,
  /**
   * Members of any one array or object in a POST body. Above every honest body: a batch holds
   * at most 1000 statements, and 2048 bytes of meta at most 1020 array elements (`0,` each).
   */
  bodyMembers: 1024,
  /** Page size of queries and the feed. */
  pageDefault: 100,
  pageMax: 1000,
} as const
