export { AccessLog } from './access-log.ts';
export type { BreakerSeries } from './breaker-gauge.ts';
export { BREAKER_STATE_VALUE } from './breaker-gauge.ts';
export type { FleetFiguresOptions, FleetRouteFigures, PublishedFigures } from './fleet-figures.ts';
export { FleetFigures } from './fleet-figures.ts';
export type {
  BreakerEventPayload,
  FleetEventsPayload,
  ParsedFleetPayload,
  PayloadExtras,
  RouteFigureSource,
  RoutePayload,
  SeriesRoutePayload,
  SeriesSide,
  ShadowCounts,
} from './fleet-payload.ts';
export {
  buildFiguresPayload,
  FIGURES_PAYLOAD_VERSION,
  parseFiguresPayload,
  parseFleetPayload,
} from './fleet-payload.ts';
export type { FleetSeriesOptions, MergedSecond, MergedSide, RemoteEvent } from './fleet-series.ts';
export { FleetSeriesMerge } from './fleet-series.ts';
export { FleetShadowTally } from './fleet-shadow.ts';
export type { FleetWindowOptions } from './fleet-window.ts';
export { FleetWindow } from './fleet-window.ts';
export {
  finalGrpcStatus,
  grpcStatusFromHttp,
  grpcStatusOf,
  NO_GRPC_STATUS,
} from './grpc-status.ts';
export type { HistoryQuery, HistoryRead, HistorySource } from './history-read.ts';
export { mergeHistoryRows, readRouteHistory, readRouteHistoryCounted } from './history-read.ts';
export type { HistorySide, RouteHistory, RouteMinute, ShadowMinute } from './history-types.ts';
export type { LimitModeSeries } from './limit-mode-gauge.ts';
export { LineWriter } from './line-writer.ts';
export type { Logger, LoggerOptions } from './log.ts';
export { createLogger, flushLogger } from './log.ts';
export type {
  BackendQueueMetrics,
  InFlightFigures,
  RouteGuardMetrics,
  RouteShadowMetrics,
  RouteSideMetrics,
  RouteTunnelMetrics,
  ShadowMemoryFigures,
  TunnelEnd,
} from './metrics.ts';
export { Metrics } from './metrics.ts';
export type {
  HistoryFlushing,
  HistoryRowOut,
  HistorySink,
  MinuteShadow,
  MinuteSide,
  ShadowPairFigures,
} from './minute-history.ts';
export { MINUTE_MS, MinuteHistory } from './minute-history.ts';
export type {
  AttemptBreak,
  FailureCause,
  GrpcCodeSets,
  Outcome,
  OutcomeKind,
  ResponseFields,
} from './outcome.ts';
export {
  CLIENT_GONE,
  classifyOutcome,
  countedClass,
  GRPC_RETRYABLE_FAILURE,
  REFUSED,
  SUCCESS,
} from './outcome.ts';
export {
  LATENCY_BUCKETS,
  lastCompleteSecond,
  RequestStats,
  SideStats,
  statsNow,
} from './request-stats.ts';
export type {
  LocalSecond,
  SampleListener,
  SeriesFleet,
  SeriesPoint,
  SeriesRoute,
  SidePoint,
  SideSummary,
} from './second-series.ts';
export { SERIES_SECONDS, SecondSeries } from './second-series.ts';
export type { ProxySpan } from './tracing.ts';
export { endProxySpan, injectTraceHeaders, startProxySpan } from './tracing.ts';
export { latencyBinIndex, MAX_UNITS, UNITS_PER_MS } from './window-histogram.ts';
export { SlotMerge } from './window-merge.ts';
export { decodeWindowSlot, encodeWindowSlot } from './window-slot-codec.ts';
export type { WindowSlot, WindowSnapshot } from './windows.ts';
export { SlidingWindow } from './windows.ts';
