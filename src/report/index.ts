export { p99DropRate, type Throughput, throughputPerInstanceRatio } from './benefit.ts';
export { ALL_ROUTES, buildReport } from './build-report.ts';
export { formatReportHtml } from './format-html.ts';
export { formatReportMarkdown } from './format-markdown.ts';
export {
  type LedgerReader,
  type ReportSpan,
  readReportData,
  routeMissing,
  type StoredReportData,
} from './gather.ts';
export { type DecayFit, fitIncidentDecay, MIN_WEEKS } from './incident-decay.ts';
export { type MannWhitneyResult, mannWhitney } from './mann-whitney.ts';
export {
  DEFAULT_VERDICT_OPTIONS,
  judgeMetric,
  type MetricVerdict,
  type Verdict,
  type VerdictOptions,
} from './metric-verdict.ts';
export {
  countInstancesInPrometheus,
  type InstantQuery,
  type PrometheusAsk,
  reportInstances,
} from './prometheus-instances.ts';
export { type InstanceCounts, instanceCountsFromText, timeFromText } from './report-query.ts';
export type {
  Comparison,
  Figure,
  ImportedIncident,
  IncidentRecord,
  IncidentWeeks,
  MigrationReport,
  PlanModuleInput,
  ReportInput,
  RouteReport,
  SideFigures,
  TimelineEvent,
  TimelineEventKind,
  TimelineGate,
  TimelineInput,
} from './report-types.ts';
export { fromValues, sampleSize, type WeightedValue, weightedMedian } from './weighted-sample.ts';
