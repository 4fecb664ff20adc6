// What `cutover report` reads and what it computes (the JSON output is a
// MigrationReport; docs/report.md "JSON output" documents it field by field).
// The report may import only state, telemetry and config: the rollout's
// ledger entries and the plan's modules are mirrored here structurally, so
// the CLI passes them in without this module importing rollout or plan.
import type { ImportedIncident } from '../config/index.ts';
import type { RouteHistory } from '../telemetry/index.ts';
import type { MetricVerdict } from './metric-verdict.ts';

/** A gate's evaluation as the rollout ledger keeps it (rollout's GateResult, mirrored). */
export interface TimelineGate {
  readonly name: string;
  readonly status: 'passed' | 'failed' | 'waiting';
  readonly value: number | null;
  readonly threshold: number;
  readonly bound: 'max' | 'min';
  readonly unit: 'ratio' | 'ms' | 'number';
  readonly detail: string;
}

/** One rollout ledger entry (rollout's LedgerEntry, mirrored: the fields the report reads). */
export interface TimelineInput {
  /** ISO 8601. */
  readonly at: string;
  readonly route: string;
  readonly kind: 'transition' | 'gates' | 'confirm' | 'note';
  readonly from: string;
  readonly to: string;
  readonly step: number | null;
  readonly previousWeight: number;
  readonly weight: number;
  readonly by: string;
  readonly reason: string;
  readonly failures: number;
  readonly gates: readonly TimelineGate[];
}

// The CSV's incidents are read by the config loader too (`report.incidents`).
export type { ImportedIncident } from '../config/index.ts';

/** The plan's cost model of one module (plan's PlanModule, mirrored). */
export interface PlanModuleInput {
  readonly name: string;
  readonly stage: string;
  readonly cost:
    | {
        readonly days: number;
        readonly people: number;
        readonly compatibility: number;
        readonly observability: number;
        readonly inputs: {
          readonly baseDays: number;
          readonly skillFactor: number;
          readonly teamSize: number;
        };
      }
    | undefined;
}

export interface ReportInput {
  /** Epoch ms, the span's start (inclusive) and end (exclusive). */
  readonly from: number;
  readonly until: number;
  readonly routes: readonly RouteHistory[];
  /** Ledger entries of the reported routes, any order (the report sorts them). */
  readonly timeline: readonly TimelineInput[];
  /**
   * Backend instances per side (`--instances`, Prometheus, `report.instances`);
   * absent, or `{ na }` with why they could not be read → throughput ratio n/a.
   */
  readonly instances?:
    | { readonly legacy: number; readonly candidate: number }
    | { readonly na: string };
  readonly incidents?: readonly ImportedIncident[];
  readonly plan?: { readonly modules: readonly PlanModuleInput[] };
  /** Epoch ms. */
  readonly generatedAt: number;
}

/** A number, or `null` with the reason it could not be given ("n/a", never 0). */
export type Figure = { readonly value: number } | { readonly value: null; readonly na: string };

export function figure(value: number | undefined, na: string): Figure {
  return value === undefined || !Number.isFinite(value) ? { value: null, na } : { value };
}

export interface SideFigures {
  readonly requests: number;
  /** Requests of the 5xx class (failed attempts). */
  readonly errors: number;
  readonly errorRate: Figure;
  /** Milliseconds. */
  readonly p50: Figure;
  readonly p95: Figure;
  readonly p99: Figure;
}

/** Legacy vs candidate over one set of requests. */
export interface Comparison {
  /** Minutes that went into it. */
  readonly minutes: number;
  readonly legacy: SideFigures;
  readonly candidate: SideFigures;
  readonly p99DropRate: Figure;
}

/** One point of the charts: a bucket of minutes. */
export interface SeriesPoint {
  /** Epoch ms of the bucket's start. */
  readonly at: number;
  readonly legacy: SideFigures | null;
  readonly candidate: SideFigures | null;
}

export interface MismatchPoint {
  readonly at: number;
  readonly compared: number;
  readonly mismatched: number;
  readonly mismatchRate: Figure;
}

export interface ShadowFigures {
  readonly compared: number;
  readonly mismatched: number;
  readonly mismatchRate: Figure;
  /** Latency of the same requests on both sides (paired slots). */
  readonly paired: Comparison;
  readonly pairedLatencyVerdict: MetricVerdict;
  readonly bucketMs: number;
  readonly series: readonly MismatchPoint[];
  /** Most frequent differing fields over the span (at most 10). */
  readonly topFields: readonly {
    readonly path: string;
    readonly count: number;
    readonly share: number;
  }[];
}

export interface RouteReport {
  readonly route: string;
  /** Minutes the side served, and minutes both did. */
  readonly minutes: { readonly legacy: number; readonly candidate: number; readonly both: number };
  /** All requests of the span per side. */
  readonly requests: { readonly legacy: number; readonly candidate: number };
  /** Only minutes where both sides had requests: the same windows. */
  readonly sameWindows: Comparison;
  readonly verdicts: { readonly latency: MetricVerdict; readonly errorRate: MetricVerdict };
  /** Requests ÷ seconds of the minutes the side served. */
  readonly tps: { readonly legacy: Figure; readonly candidate: Figure };
  readonly throughputPerInstanceRatio: Figure;
  readonly breakerOpenings: { readonly legacy: number; readonly candidate: number };
  readonly shadow: ShadowFigures | null;
  /** The chart's buckets (bucketMs wide). */
  readonly bucketMs: number;
  readonly series: readonly SeriesPoint[];
  /** The weight after each timeline entry that changed it (routes with a ledger). */
  readonly weights: readonly {
    readonly at: number;
    readonly weight: number;
    readonly rollback: boolean;
  }[];
}

export type TimelineEventKind =
  | 'shadow'
  | 'step'
  | 'pause'
  | 'resume'
  | 'promote'
  | 'rollback'
  | 'off'
  | 'gate-failure'
  | 'other';

export interface TimelineEvent {
  readonly at: number;
  readonly route: string;
  readonly event: TimelineEventKind;
  readonly from: string;
  readonly to: string;
  readonly previousWeight: number;
  readonly weight: number;
  readonly by: string;
  readonly reason: string;
  /** The gates that failed (value vs threshold): the cause of a rollback or a gate failure. */
  readonly failedGates: readonly TimelineGate[];
}

export interface IncidentRecord {
  readonly at: number;
  readonly source: 'rollback' | 'breaker' | 'gate-failure' | 'imported';
  readonly route: string;
  readonly note: string;
}

export interface IncidentWeeks {
  /** Whole weeks from `from`; week t starts at from + t·7 days. */
  readonly weeks: readonly {
    readonly start: number;
    readonly rollbacks: number;
    readonly breakerOpenings: number;
    readonly gateFailures: number;
    readonly imported: number;
    readonly total: number;
  }[];
  /** Incidents after the last whole week (not fitted: the week is not over). */
  readonly partialWeek: number;
  readonly fit:
    | {
        readonly a: number;
        readonly k: number;
        readonly kLow: number;
        readonly kHigh: number;
        readonly halfLifeWeeks: Figure;
        readonly declining: boolean;
        readonly dispersion: number;
      }
    | { readonly na: string };
  /** Every incident counted, oldest first (imported ones included). */
  readonly list: readonly IncidentRecord[];
}

export interface MigrationReport {
  readonly version: 1;
  /** ISO 8601. */
  readonly generatedAt: string;
  readonly from: string;
  readonly until: string;
  /** One paragraph, the leadership summary. */
  readonly summary: string;
  readonly instances: { readonly legacy: number; readonly candidate: number } | null;
  /** Every route merged (minutes of all routes added); `route` is "all routes". */
  readonly overall: RouteReport;
  readonly routes: readonly RouteReport[];
  readonly timeline: readonly TimelineEvent[];
  readonly incidents: IncidentWeeks;
  readonly plan: readonly PlanModuleInput[] | null;
}
