export type { PlanResult } from './plan-result.ts';
export type { PlanSpan, SpanKind } from './span.ts';
export type { SkipReason } from './traces/normalise.ts';
export type { ReadOptions, ReadSummary, SpanProblem, TraceFormat } from './traces/read-spans.ts';
export { readSpans } from './traces/read-spans.ts';
