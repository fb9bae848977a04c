/** The trust-policy engine and its one gatherer: verified statements and a policy in, a verdict and its explanation out. No I/O of its own: the gatherer reads through a source its caller injects. */
export { GIT_CLAIMS, gitCorroboration, type GitClaim, type GitId } from './git.ts'
export { evaluate, renderExplanation, revokedKeys, type AliasProof, type EvaluateOptions, type Explanation, type Verdict, type VerdictKind } from './engine.ts'
export { FactIndex, inForce, packageOf, purlType, type Fact } from './facts.ts'
export { authority, type Standing } from './authority.ts'
export { ADMIT_CLAIM, admittedKeys } from './admission.ts'
export { ensurePolicy, PolicyError, PolicySchema, type Policy, type PolicyInput } from './schema.ts'
export { GATHER_DEFAULTS, gatherForVerdict, type Gathered, type GatherOptions, type ProofChecker, type StatementFilter, type StatementSource } from './gather.ts'
