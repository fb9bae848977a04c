/**
 * Bridges: actors with their own key that read another system (an npm registry, a Nix binary
 * cache, an in-toto attestation) and publish what it says as signed claims, so clients can
 * choose to trust them (docs/BRIDGES.md). They check what they read as strictly as relays check
 * statements, and publish nothing when the source is malformed or its signature does not verify.
 * No Node built-ins: the same code can run in a scheduled Worker.
 */
export { BridgeError, type BridgeErrorKind } from './errors.ts'
export { DEFAULT_FETCH_TIMEOUT_MS, type FetchOptions } from './http.ts'
export { alreadySaid, inForce, priorStatements, signAndPublish, standingObjects, type BridgePublishOptions, type Claim, type Prior, type PublishOutcome } from './publish.ts'
export {
  bridgeNpm,
  DEFAULT_REGISTRY,
  integrityOf,
  npmClaim,
  npmPurl,
  packumentUrl,
  parsePackageSpec,
  parsePackument,
  readPackument,
  type Integrity,
  type NpmBridgeOptions,
  type NpmBridgeResult,
  type NpmPackageSpec,
  type NpmVersion,
  type NpmVersionOutcome,
  type Packument,
} from './npm.ts'
export { decodeNix32, encodeNix32, NIX32_ALPHABET } from './nix-base32.ts'
export { fingerprint, formatNixPublicKey, narHashSri, parseNarInfo, parseNixHash, parseNixPublicKey, splitStorePath, verifyNarInfo, type NarInfo, type NixPublicKey } from './narinfo.ts'
export { bridgeNix, CACHE_NIXOS_ORG_KEY, DEFAULT_CACHE, nixFact, nixTarget, type NixBridgeOptions, type NixBridgeResult, type NixOutcome, type NixTarget } from './nix.ts'
export { decodeDsseBase64, ENVELOPE_MAX_BYTES, INTOTO_PAYLOAD_TYPE, pae, parseEnvelope, parsePublicKey, signEnvelope, verifyEnvelope, type Envelope, type EnvelopeJson, type EnvelopeSigner, type TrustedKey } from './dsse.ts'
export {
  digestTerm,
  exportEnvelope,
  exportSubject,
  importEnvelope,
  parseInTotoStatement,
  provenanceClaims,
  SLSA_PROVENANCE_V1,
  STATEMENT_V1,
  toInTotoStatement,
  VOUCH_PREDICATE_TYPE,
  type ImportResult,
  type InTotoStatement,
  type ResourceDescriptor,
} from './intoto.ts'
export { bridgeGit, gitSubject, tagVersion, type GitBridgeOptions, type GitBridgeResult, type GitTagFact, type GitTagOutcome } from './git.ts'
export { bridgeOci, OCI_MANIFEST_MAX_BYTES, ociSri, platformName, readOciLayout, type LayoutReader, type OciBridgeResult, type OciImage } from './oci.ts'
export { backoffMs, changesUrl, parseChanges, readChanges, retryAfter, type Change, type ChangesPage, type RetryOptions, type Seq } from './changes.ts'
export { FAILED_KEPT, followNpm, timedClaims, type BatchReport, type CheckpointStore, type FailedChange, type FollowOptions, type FollowReport, type FollowState } from './follow.ts'
