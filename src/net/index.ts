/** The one outbound door: every request vouch makes to another server goes through here. */
export { isIpLiteral, isPrivateHost, isPublicIp, isUntrustedNameRefused } from './address.ts'
export { checkPublicUrl, fetchCapped, open, OutboundError, readBody, type FetchLike, type Fetched, type Opened, type OpenOptions, type OutboundCode, type UrlRule } from './fetch.ts'
export { BodyTooLarge, readCapped } from './read-capped.ts'
