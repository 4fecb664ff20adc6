export type { GrpcBodyComparison, ProtoContext } from './grpc-answer.ts';
export { grpcStatusName, isGrpcMediaType } from './grpc-answer.ts';
export type { GrpcMessages } from './grpc-frames.ts';
export { GrpcMessageCounter, splitGrpcMessages } from './grpc-frames.ts';
export type {
  CompareResult,
  Difference,
  DifferenceKind,
} from './json-diff.ts';
export { canonicalize, normalizedJsonText } from './json-diff.ts';
export type { LatencyPercentiles } from './latency.ts';
export type { NoiseEntry, NoiseOptions, NoiseVerdicts } from './noise.ts';
export { fixedNoise, NoiseTracker } from './noise.ts';
export { parsePath } from './path.ts';
export type { ShadowTally } from './pattern-sets.ts';
export { MAX_PATTERN_SETS, SETTLE_PAIRS, UNLISTED_DIFFERENCES } from './pattern-sets.ts';
export type { ComparePoolOptions, ComparePoolStats } from './pool.ts';
export { ComparePool } from './pool.ts';
export { decodeMessageJson } from './proto-json.ts';
export type { ProtoMethod } from './proto-schema.ts';
export { ProtoSchema } from './proto-schema.ts';
export type { RedactionRules } from './redact.ts';
export { REDACTED, Redactor } from './redact.ts';
export type { CompareOptions, ResponseHeaders, ResponseSample } from './response.ts';
export { compareResponses, isJsonMediaType, parseJsonBody } from './response.ts';
export type {
  ShadowFieldStats,
  ShadowLatency,
  ShadowPair,
  ShadowResultsConstruction,
  ShadowResultsJSON,
  ShadowResultsOptions,
  ShadowSummary,
  SkipReason,
} from './results.ts';
export { ShadowResults } from './results.ts';
export type { CompareRules, CompiledCompareRules } from './rules.ts';
export { compileCompareRules, DEFAULT_COMPARED_HEADERS, VOLATILE_HEADERS } from './rules.ts';
export type { ShadowSample } from './shadow-view.ts';
export { restoredSamples, ShadowView } from './shadow-view.ts';
export { canonicalInstant } from './timestamp.ts';
export { unifiedDiff } from './unified-diff.ts';
