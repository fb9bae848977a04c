/**
 * The vouch client: typed functions over the relay HTTP API (docs/PROTOCOL.md §6), for Node and
 * Workers. Everything a relay sends is verified here with the same code the relays use
 * (src/verify), so a client never believes a relay, and a statement it signs is one every relay
 * accepts. Every call has a timeout, a size cap and an AbortSignal.
 */
export { ClientError, LogForkError, type ClientErrorCode, type ForkEvidence, type RelayProblem, type RelayReport } from './errors.ts'
export { DEFAULT_TIMEOUT_MS, relayBase, type RequestOptions } from './http.ts'
export { createStatement, keySigner, sign, type Signer, type StatementFields } from './sign.ts'
export { publish, type PublishOptions, type PublishReport, type PublishResult } from './publish.ts'
export { getStatement, query, type Dropped, type Filter, type GetResult, type QueriedStatement, type QueryOptions, type QueryReport, type QueryResult } from './query.ts'
export {
  DEFAULT_BLOB_MAX_BYTES,
  fetchBlob,
  fetchBlobTo,
  hasBlob,
  parseBlobHash,
  uploadBlob,
  type BlobBody,
  type BlobConsumer,
  type BlobOptions,
  type BlobSource,
  type FetchResult,
  type PresenceReport,
  type UploadOptions,
  type UploadReport,
} from './blobs.ts'
export { relayInfo, type InfoReport, type RelayInfo } from './info.ts'
export { liveClaims, packageSubject, type LiveClaim } from './names.ts'
export { querySource, type QuerySource } from './source.ts'
export {
  believeRelaySignature,
  LogChecker,
  type BeliefRefusal,
  memoryCheckpointStore,
  type CheckpointBelief,
  type CheckpointStore,
  type KeptCheckpoint,
  type LeafClaim,
  type LeafVerdict,
  type LogEvidence,
  type LogCheckOptions,
  type SignedCheckpoint,
} from './log.ts'
export { distrustEquivocated, findEquivocation, type ProvenFork } from './distrust.ts'
export { TileCache, type TileSubtrees } from './tiles.ts'
export { ProvenTree } from './inclusion.ts'
export { countWitnesses, unwitnessedRelay, witnessBelief, type WitnessCount, type WitnessRequirement } from './witnessed.ts'
export { witnessedPrefix, type PrefixBelief } from './witnessed-prefix.ts'
export { BOUNDS_PER_RELAY, BoundBudget, boundBudget, boundProofs, boundRequirement, MAX_BOUNDED, proveTimeBound, witnessedTimes, type BoundRequirement, type NoBound, type TimeBound } from './timebound.ts'
export { BULK_SUBJECTS, bulkQuery, type BulkOptions, type BulkResult } from './bulk.ts'
// Keys, so a library user needs one import: an actor is an Ed25519 key (did:key).
export { encodeDidKey, generateKeyPair, keyPairFromSeed, type KeyPair, type Statement, type VerifiedStatement } from '../verify/index.ts'
export { IN_FLIGHT, mapInOrder, settleInOrder } from './in-order.ts'
