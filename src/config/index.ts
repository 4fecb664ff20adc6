export { DEFAULTS } from './defaults.ts';
export { DUPLICATE_KEY_MESSAGE, duplicateKeyOffsets } from './duplicate-keys.ts';
export type { KeyPart } from './fields.ts';
export { parseKeySpec } from './fields.ts';
export type { GrpcStatusName } from './grpc-codes.ts';
export {
  GRPC_OK,
  GRPC_STATUS_NAMES,
  GRPC_UNAVAILABLE,
  GRPC_UNKNOWN,
  grpcCodeMask,
} from './grpc-codes.ts';
export type { LimitFallback, LimitScope } from './guard-blocks.ts';
export { LIMIT_FALLBACKS, LIMIT_SCOPES } from './guard-blocks.ts';
export type { IncidentsCsvProblem } from './incidents-csv.ts';
export { parseIncidentsCsv, readIncidentsCsvText } from './incidents-csv.ts';
export type { JsonPathStep } from './json-path.ts';
export { ANY_STEP, formatJsonPath, parseJsonPath } from './json-path.ts';
export { parseConfigText } from './load.ts';
export type { LoadLimits, LoadOptions } from './load-file.ts';
export { loadConfigFile, loadLimits } from './load-file.ts';
export type { SchemaIssue } from './messages.ts';
export { configErrorMap, describeValue, schemaIssues } from './messages.ts';
export type { FieldPath, PathIssue } from './normalize.ts';
export { checkPathPattern, normalizeConfig } from './normalize.ts';
export type { Position } from './positions.ts';
export { formatPath, SourcePositions } from './positions.ts';
export { readConfigBytes } from './read.ts';
export type { RedisNode, RedisTarget } from './redis-url.ts';
export { describeRedisTarget, isRedisUrl, parseRedisUrl } from './redis-url.ts';
export type { RawConfig } from './schema.ts';
export { configSchema, STATE_PREFIX } from './schema.ts';
export type { TlsFile } from './tls-files.ts';
export {
  MAX_PEM_BYTES,
  pairProblem,
  parseCertificates,
  parseKey,
  readPemSync,
  readProblem,
  sniHostProblem,
  tlsFileIssues,
  tlsFiles,
} from './tls-files.ts';
export type {
  BackendConfig,
  BackendTlsConfig,
  BreakerConfig,
  CompareRulesConfig,
  ConcurrencyConfig,
  Config,
  FallbackConfig,
  FallbackReason,
  GrpcMatch,
  GrpcRouteConfig,
  HealthConfig,
  Http2Limits,
  HttpMethod,
  ImportedIncident,
  LimitConfig,
  ListenAddress,
  ListenerConfig,
  ListenerProtocol,
  OutlierConfig,
  PrometheusGateConfig,
  ProtoDescriptors,
  RedisStateConfig,
  ReportIncidents,
  ReportInstances,
  ReportPlan,
  RetryConfig,
  RolloutConfig,
  RolloutGates,
  RouteConfig,
  RouteMatch,
  ShadowConfig,
  SplitConfig,
  StateConfig,
  TlsConfig,
  UpstreamProtocol,
  WebhookConfig,
} from './types.ts';
export { parseDuration, parseListen, parseSize } from './units.ts';
export type { ConfigWatcher } from './watch.ts';
export { watchConfig } from './watch.ts';
export { hasAtMostTwoDecimals, isWeight } from './weight.ts';
