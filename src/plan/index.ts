export { PlanBuilder } from './build/plan-builder.ts';
export { type EmitConfigOptions, emitConfig, toPathPattern } from './emit-config.ts';
export { formatPlanHtml } from './format/html.ts';
export { formatPlanJson } from './format/json.ts';
export { escapeMarkdown, formatPlanMarkdown } from './format/markdown.ts';
export { formatPlanTable, type TableOptions } from './format/table.ts';
export { loadModulesFile, parseModulesText } from './modules/load.ts';
export type { CostInputs, ModulesFile } from './modules/schema.ts';
export type {
  DataStore,
  EntryPoint,
  ModuleCost,
  ModulePair,
  PlanModule,
  PlanPair,
  PlanResult,
  PlanWarning,
  SharedDataLevel,
  Stage,
} from './plan-result.ts';
export type { PlanSpan, SpanKind, SpanLink } from './span.ts';
export type { SkipReason } from './traces/normalise.ts';
export type { ReadOptions, ReadSummary, SpanProblem, TraceFormat } from './traces/read-spans.ts';
export { readSpans } from './traces/read-spans.ts';
