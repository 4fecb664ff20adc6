export type {
  CompareResult,
  Difference,
  DifferenceKind,
} from './json-diff.ts';
export { canonicalize, normalizedJsonText } from './json-diff.ts';
export type { NoiseEntry, NoiseOptions } from './noise.ts';
export { NoiseTracker } from './noise.ts';
export { parsePath } from './path.ts';
export type { ComparePoolOptions, ComparePoolStats } from './pool.ts';
export { ComparePool } from './pool.ts';
export type { RedactionRules } from './redact.ts';
export { REDACTED, Redactor } from './redact.ts';
export type { CompareOptions, ResponseHeaders, ResponseSample } from './response.ts';
export { compareResponses, isJsonMediaType, parseJsonBody } from './response.ts';
export type {
  LatencyPercentiles,
  ShadowFieldStats,
  ShadowLatency,
  ShadowPair,
  ShadowResultsJSON,
  ShadowResultsOptions,
  ShadowSample,
  ShadowSummary,
  SkipReason,
} from './results.ts';
export { ShadowResults } from './results.ts';
export type { CompareRules, CompiledCompareRules } from './rules.ts';
export { compileCompareRules, DEFAULT_COMPARED_HEADERS, VOLATILE_HEADERS } from './rules.ts';
export { canonicalInstant } from './timestamp.ts';
export { unifiedDiff } from './unified-diff.ts';
