// The JSON the admin API answers, as the dashboard reads it (docs/api.md,
// docs/dashboard.md). Only the fields the pages show are listed.

export type Role = 'operator' | 'viewer';

export interface Session {
  readonly role: Role;
  readonly name: string;
  readonly csrf: string;
  readonly expiresAt?: string;
}

export type RolloutState = 'off' | 'shadow' | 'canary' | 'paused' | 'done' | 'rolled-back';

export interface SideFigures {
  readonly rps: number | null;
  readonly errorRate: number | null;
  readonly p99: number | null;
}

export interface OverviewRoute {
  readonly name: string;
  readonly state: RolloutState;
  readonly step: number | null;
  readonly weight: number;
  /** ISO: when the route entered its state. */
  readonly since: string | null;
  readonly waitingFor: string | null;
  readonly legacy: SideFigures | null;
  readonly candidate: SideFigures | null;
  readonly mismatchRate: number | null;
}

export interface Instance {
  readonly id: string;
  readonly host?: string;
  readonly pid?: number;
  readonly admin?: string;
  readonly startedAt?: string;
  readonly lastSeen?: string;
  readonly leader: boolean;
}

export interface Overview {
  readonly routes: readonly OverviewRoute[];
  readonly instances: readonly Instance[];
  readonly leader: string | null;
}

export interface Percentiles {
  readonly rps: number;
  readonly errorRate: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

export interface SeriesPoint {
  /** Epoch seconds. */
  readonly t: number;
  readonly legacy: Percentiles | null;
  readonly candidate: Percentiles | null;
  readonly weight: number;
  /** Instances whose figures the point holds (1 alone). */
  readonly instances: number;
}

export interface Series {
  readonly route: string;
  readonly resolution: number;
  readonly points: readonly SeriesPoint[];
}

export interface GateResult {
  readonly name: string;
  readonly status: 'passed' | 'failed' | 'waiting';
  readonly value: number | null;
  readonly threshold: number;
  readonly bound: 'max' | 'min';
  readonly unit: 'ratio' | 'ms' | 'number';
  readonly detail: string;
}

export interface RolloutStatus {
  readonly state: RolloutState;
  readonly step: number | null;
  readonly steps: readonly number[];
  readonly weight: number;
  readonly since: string | null;
  readonly failures: number;
  readonly failureLimit: number;
  readonly reason: string;
  readonly waitingFor: string | null;
  readonly gates: readonly GateResult[];
}

export interface BreakerSnapshot {
  readonly backend: string;
  readonly route: string;
  readonly state: 'closed' | 'open' | 'half-open';
  readonly forced: 'open' | 'closed' | null;
  readonly calls: number;
  readonly failures: number;
  readonly errorRatio: number;
  readonly openedAt: number | null;
}

export interface RouteDetail {
  readonly name: string;
  readonly legacy: string;
  readonly candidate: string | null;
  readonly weight: number;
  readonly configWeight: number;
  readonly weightSource: 'config' | 'runtime';
  /** Shadow copies configured: GET /diffs answers (404 otherwise). */
  readonly shadow: boolean;
  readonly breakers: {
    readonly legacy: BreakerSnapshot | null;
    readonly candidate: BreakerSnapshot | null;
  };
  readonly limit?: unknown;
  readonly concurrency?: unknown;
  readonly inFlight?: number;
  readonly rollout: RolloutStatus | null;
}

export interface LedgerEntry {
  readonly at: string;
  readonly route: string;
  readonly kind: 'transition' | 'gates' | 'confirm' | 'note';
  readonly from: RolloutState;
  readonly to: RolloutState;
  readonly step: number | null;
  readonly previousWeight: number;
  readonly weight: number;
  readonly by: string;
  /** Who acted through the API (the name given at sign-in and the role), when a person did. */
  readonly who?: { readonly role: string; readonly name: string };
  readonly reason: string;
  readonly failures: number;
  readonly gates: readonly GateResult[];
}

export interface BackendInstanceView {
  readonly url: string;
  readonly healthy: boolean;
  readonly ejected: boolean;
  /** ISO 8601; null when not ejected. */
  readonly ejectedUntil: string | null;
  readonly consecutiveErrors: number;
}

export interface BackendBreakers {
  readonly backend: string;
  readonly forced: 'open' | 'closed' | null;
  readonly routes: Readonly<Record<string, BreakerSnapshot>>;
  /** The backend's instances: health checks and outlier ejection. */
  readonly instances: readonly BackendInstanceView[];
}

export interface DiffField {
  readonly pattern: string;
  readonly raw: number;
  readonly noise: number;
  readonly kinds: Readonly<Record<string, number>>;
  readonly lastLegacy?: unknown;
  readonly lastCandidate?: unknown;
}

export interface DiffSample {
  readonly at: string;
  readonly method: string;
  readonly url: string;
  readonly legacyStatus: number;
  readonly candidateStatus: number;
  readonly diff: string;
  readonly differences: readonly { readonly path: string; readonly kind: string }[];
  readonly legacyMs: number;
  readonly candidateMs: number;
}

export interface LatencyTriple {
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

export interface RouteDiffs {
  readonly summary: {
    readonly compared: number;
    readonly matched: number;
    readonly mismatched: number;
    readonly mismatchRatio: number | null;
    readonly settled: boolean;
    readonly skipped: Readonly<Record<string, number>>;
  };
  readonly fields: readonly DiffField[];
  readonly samples: readonly DiffSample[];
  readonly latency?: {
    readonly pairs: number;
    readonly legacy: LatencyTriple;
    readonly candidate: LatencyTriple;
    readonly ratio: LatencyTriple;
  };
  readonly noise?: {
    readonly learning: boolean;
    readonly fields: readonly { readonly pattern: string }[];
    readonly pin?: { readonly compare?: { readonly ignore?: readonly string[] } };
  };
}

/** A report figure: a number, or null with why (GET /api/report, src/report/report-types.ts). */
export type Figure = { value: number } | { value: null; na: string };

export interface ReportSide {
  requests: number;
  errors: number;
  errorRate: Figure;
  p50: Figure;
  p95: Figure;
  p99: Figure;
}

export interface ReportVerdict {
  verdict: 'pass' | 'higher' | 'lower' | 'nodata';
  reason: string;
}

/** One route's figures of the report: the fields the Report page shows. */
export interface ReportRoute {
  route: string;
  requests: { legacy: number; candidate: number };
  sameWindows: { minutes: number; legacy: ReportSide; candidate: ReportSide; p99DropRate: Figure };
  verdicts: { latency: ReportVerdict; errorRate: ReportVerdict };
  throughputPerInstanceRatio: Figure;
}

/** GET /api/report?format=json, cut to what the Report page reads. */
export interface ReportJson {
  generatedAt: string;
  from: string;
  until: string;
  summary: string;
  overall: ReportRoute;
  routes: ReportRoute[];
  timeline: unknown[];
}

/** A module of GET /api/plan (`cutover plan --format json`, docs/plan.md "JSON output"). */
export interface PlanModule {
  name: string;
  stage: 'L1' | 'L2' | 'L3';
  score: number;
  traffic: number;
  cost: { days: number; calendarDays?: number; inputs: { teamSize: number } } | null | undefined;
  pair:
    | { with: string; callRatio: number; sharedColumns: number; txHops: number; score: number }
    | null
    | undefined;
}

export interface PlanJson {
  modules: PlanModule[];
  traces?: { days: number; from?: string; until?: string };
}
