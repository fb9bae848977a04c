/**
 * Gossip counters of this isolate since it started (served at /.well-known/vouch). On Cloudflare a
 * relay runs in many isolates, so these are per isolate; locally there is one. Tests and the
 * gossip benchmark use them to count deliveries.
 */
export const stats = {
  /** Statements received in pushes from peers (each one delivery), and how many were new. */
  pushReceived: 0,
  pushReceivedNew: 0,
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
  /** Requests signed by a configured peer's key, and requests refused for a bad signature. */
  peerRequests: 0,
  badSignatures: 0,
}
