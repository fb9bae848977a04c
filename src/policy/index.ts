/** The trust-policy engine: verified statements and a policy in, a verdict and its explanation out. No I/O. */
export { evaluate, renderExplanation, type AliasProof, type EvaluateOptions, type Explanation, type Verdict, type VerdictKind } from './engine.ts'
export { FactIndex, inForce, packageOf, purlType, type Fact } from './facts.ts'
export { authority, type Standing } from './authority.ts'
export { ensurePolicy, PolicyError, PolicySchema, type Policy, type PolicyInput } from './schema.ts'
