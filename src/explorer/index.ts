/**
 * The web explorer every relay serves at `/` (README, "Explorer"): server-rendered pages over the
 * same store queries as the API, no script, a strict CSP. Routes are in src/routes/pages.tsx.
 */
export { ActorPage, isEmptyActor, ownAliases } from './actor.tsx'
export { actorData, aliasClaims, hashData, latest, packageData, statusData } from './data.ts'
export { HashPage, isEmptyHash } from './hash.tsx'
export { AliasResults, ErrorPage, HomePage, SearchProblem } from './home.tsx'
export { pageCsp, render } from './layout.tsx'
export { EXPLORER_PATHS } from './openapi.ts'
export { isEmptyPackage, PackagePage } from './package.tsx'
export { findNames, isEmptyFind, type FindResult } from './find.ts'
export { FindResults } from './results.tsx'
export { resolveSearch } from './search.ts'
export { StatusPage } from './status.tsx'
export { TrustPage } from './trust-view.tsx'
export { checkAndStore, MAX_CHECKS_PER_ACTOR, shownChecks, unchecked, withStored, type ShownCheck } from './proofs.ts'
export { actorHref, packageHref } from './text.ts'
export { POLICY_MAX_BYTES, runTrust, type TrustInput } from './trust.ts'
