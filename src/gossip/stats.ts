/**
 * Gossip counters of this isolate since it started (served at /.well-known/vouch). On Cloudflare a
 * relay runs in many isolates, so these are per isolate; locally there is one. Tests and the
 * gossip benchmark use them to count deliveries.
 */
export const stats = {
  /** Statements received in pushes from peers (each one delivery), and how many were new. */
  pushReceived: 0,
  pushReceivedNew: 0,
  /** POSTs those statements came in. */
  pushReceivedRequests: 0,
  /** Statements and requests sent to peers. */
  pushedStatements: 0,
  pushRequests: 0,
  pushFailures: 0,
  /** Statements stored from peers' feeds, pages read, invalid items dropped. */
  pulled: 0,
  pullPages: 0,
  pullBytes: 0,
  pullInvalid: 0,
  pullFailures: 0,
  /** Log entry bundles copied from peers (catch-up from tiles), and peers caught serving bundles their checkpoint does not sign. */
  pullBundles: 0,
  logFaults: 0,
  /** Requests signed by a configured peer's key, and requests refused for a bad signature. */
  peerRequests: 0,
  badSignatures: 0,
  /**
   * Requests that exceeded this relay's advertised caps (`batchItems`, `pageMax`): POSTs and
   * lookups refused with 413, feed and query pages served shorter than asked. Peers must honour
   * the caps (PROTOCOL §6.7), so this stays 0 among conforming relays.
   */
  overCap: 0,
}
