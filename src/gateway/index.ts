export type { LatencyPercentiles, ShadowResultsJSON } from '../compare/index.ts';
export type { Backend, BackendInstance } from './backends.ts';
export type {
  BackendBreakers,
  GatewayOptions,
  Readiness,
  RouteDetail,
  RouteStatus,
} from './gateway.ts';
export { Gateway } from './gateway.ts';
export type { ForcedState } from './guard-registry.ts';
export type { NoiseReport, RouteDiffs } from './route-shadow.ts';
export type { RouteHit } from './router.ts';
export { Router } from './router.ts';
export type { Side, SplitInput } from './split.ts';
export { BUCKETS, chooseSide, stickyBucket, stickyKeyOf } from './split.ts';
