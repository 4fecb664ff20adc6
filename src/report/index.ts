export { p99DropRate, type Throughput, throughputPerInstanceRatio } from './benefit.ts';
export { type DecayFit, fitIncidentDecay, MIN_WEEKS } from './incident-decay.ts';
export { type MannWhitneyResult, mannWhitney } from './mann-whitney.ts';
export {
  DEFAULT_VERDICT_OPTIONS,
  judgeMetric,
  type MetricVerdict,
  type Verdict,
  type VerdictOptions,
} from './metric-verdict.ts';
export { fromValues, sampleSize, type WeightedValue, weightedMedian } from './weighted-sample.ts';
