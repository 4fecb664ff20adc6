// One route's figures over the span (docs/report.md "Figures"): legacy vs
// candidate on the same windows and on the same (shadowed) requests, the
// verdicts, throughput per instance, and the chart series.
import type { RouteHistory, WindowSlot } from '../telemetry/index.ts';
import { p99DropRate, throughputPerInstanceRatio } from './benefit.ts';
import { judgeMetric } from './metric-verdict.ts';
import {
  type Comparison,
  figure,
  type MismatchPoint,
  type ReportInput,
  type RouteReport,
  type SeriesPoint,
  type ShadowFigures,
} from './report-types.ts';
import { latencySample, sideFigures, slotRequests } from './slot-figures.ts';
import { fromValues } from './weighted-sample.ts';

const MINUTE_MS = 60_000;
/** Bucket widths the charts may use, in minutes: a minute, 5, 15, an hour, 6 hours, a day. */
const BUCKET_MINUTES = [1, 5, 15, 60, 360, 1440];
/** At most this many points a chart line: more is wider than a printed page can show. */
const MAX_POINTS = 300;
/** Differing fields listed (a row's `fields` keeps up to 20 per minute; ten fit a table). */
const TOP_FIELDS = 10;

export interface RouteContext {
  readonly from: number;
  readonly until: number;
  readonly instances: ReportInput['instances'];
  readonly weights: RouteReport['weights'];
}

/** The narrowest bucket that keeps a span's chart under MAX_POINTS points. */
export function bucketFor(spanMs: number): number {
  const minutes = spanMs / MINUTE_MS;
  const width = BUCKET_MINUTES.find((m) => minutes / m <= MAX_POINTS) ?? 10_080;
  return width * MINUTE_MS;
}

function compare(minutes: number, legacy: WindowSlot[], candidate: WindowSlot[]): Comparison {
  const l = sideFigures(legacy);
  const c = sideFigures(candidate);
  const drop =
    l.p99.value === null || c.p99.value === null
      ? figure(undefined, minutes === 0 ? 'no minute with requests on both sides' : 'no request')
      : figure(p99DropRate(l.p99.value, c.p99.value), 'legacy p99 is 0');
  return { minutes, legacy: l, candidate: c, p99DropRate: drop };
}

type ShadowRow = NonNullable<RouteHistory['minutes'][number]['shadow']>;

/**
 * A minute of one route, or of every route (the whole migration): the rows'
 * slots side by side, merged only when a figure is read — merging slots
 * minute by minute first cost seconds over a month of history.
 */
export interface MinuteSlots {
  readonly minute: number;
  readonly legacy: readonly WindowSlot[];
  readonly candidate: readonly WindowSlot[];
  readonly breakerOpenings: { readonly legacy: number; readonly candidate: number };
  readonly shadow: readonly ShadowRow[];
}

/** A route's history as MinuteSlots (one slot or none a side, one shadow row or none). */
export function minuteSlotsOf(history: RouteHistory): MinuteSlots[] {
  return history.minutes.map((m) => ({
    minute: m.minute,
    legacy: m.legacy ? [m.legacy] : [],
    candidate: m.candidate ? [m.candidate] : [],
    breakerOpenings: m.breakerOpenings,
    shadow: m.shadow ? [m.shadow] : [],
  }));
}

function sum(slots: readonly WindowSlot[], only5xx: boolean): number {
  let n = 0;
  for (const slot of slots) n += only5xx ? slot.byClass[4] : slotRequests(slot);
  return n;
}

export function buildRouteReport(
  route: string,
  minutes: readonly MinuteSlots[],
  context: RouteContext,
): RouteReport {
  const inSpan = minutes.filter((m) => m.minute >= context.from && m.minute < context.until);
  const sameLegacy: WindowSlot[] = [];
  const sameCandidate: WindowSlot[] = [];
  const legacyRates: number[] = [];
  const candidateRates: number[] = [];
  let legacyMinutes = 0;
  let sameMinutes = 0;
  let candidateMinutes = 0;
  const requests = { legacy: 0, candidate: 0 };
  const breakerOpenings = { legacy: 0, candidate: 0 };
  for (const m of inSpan) {
    breakerOpenings.legacy += m.breakerOpenings.legacy;
    breakerOpenings.candidate += m.breakerOpenings.candidate;
    const legacy = sum(m.legacy, false);
    const candidate = sum(m.candidate, false);
    if (legacy > 0) {
      legacyMinutes++;
      requests.legacy += legacy;
    }
    if (candidate > 0) {
      candidateMinutes++;
      requests.candidate += candidate;
    }
    if (legacy > 0 && candidate > 0) {
      sameMinutes++;
      sameLegacy.push(...m.legacy);
      sameCandidate.push(...m.candidate);
      legacyRates.push(sum(m.legacy, true) / legacy);
      candidateRates.push(sum(m.candidate, true) / candidate);
    }
  }
  const tps = {
    legacy: figure(
      legacyMinutes > 0 ? requests.legacy / (legacyMinutes * 60) : undefined,
      'legacy served no minute of the span',
    ),
    candidate: figure(
      candidateMinutes > 0 ? requests.candidate / (candidateMinutes * 60) : undefined,
      'candidate served no minute of the span',
    ),
  };
  const instances = context.instances;
  const ratio =
    instances === undefined
      ? figure(undefined, 'instance counts not given (--instances or Prometheus)')
      : 'na' in instances
        ? figure(undefined, instances.na)
        : tps.legacy.value === null || tps.candidate.value === null
          ? figure(undefined, 'a side served no minute of the span')
          : figure(
              throughputPerInstanceRatio(
                { tps: tps.legacy.value, instances: instances.legacy },
                { tps: tps.candidate.value, instances: instances.candidate },
              ),
              'an instance count or the legacy TPS is 0',
            );
  // Buckets fit the minutes that hold data, not the asked span: three hours
  // of canary inside a six-week report still chart by the minute.
  const bucketMs = bucketFor(
    inSpan.length === 0
      ? MINUTE_MS
      : inSpan[inSpan.length - 1].minute - inSpan[0].minute + MINUTE_MS,
  );
  return {
    route,
    minutes: { legacy: legacyMinutes, candidate: candidateMinutes, both: sameMinutes },
    requests,
    sameWindows: compare(sameMinutes, sameLegacy, sameCandidate),
    verdicts: {
      latency: judgeMetric(latencySample(sameLegacy), latencySample(sameCandidate)),
      errorRate: judgeMetric(fromValues(legacyRates), fromValues(candidateRates)),
    },
    tps,
    throughputPerInstanceRatio: ratio,
    breakerOpenings,
    shadow: shadowFigures(inSpan, bucketMs),
    bucketMs,
    series: series(inSpan, bucketMs),
    weights: context.weights,
  };
}

type Minute = MinuteSlots;

function bucketsOf(minutes: readonly Minute[], bucketMs: number): Map<number, Minute[]> {
  const buckets = new Map<number, Minute[]>();
  for (const m of minutes) {
    const at = Math.floor(m.minute / bucketMs) * bucketMs;
    const list = buckets.get(at);
    if (list) list.push(m);
    else buckets.set(at, [m]);
  }
  return buckets;
}

function series(minutes: readonly Minute[], bucketMs: number): SeriesPoint[] {
  const points: SeriesPoint[] = [];
  for (const [at, list] of bucketsOf(minutes, bucketMs)) {
    const legacy = list.flatMap((m) => m.legacy);
    const candidate = list.flatMap((m) => m.candidate);
    points.push({
      at,
      legacy: legacy.length > 0 ? sideFigures(legacy) : null,
      candidate: candidate.length > 0 ? sideFigures(candidate) : null,
    });
  }
  return points.sort((a, b) => a.at - b.at);
}

function shadowFigures(minutes: readonly Minute[], bucketMs: number): ShadowFigures | null {
  const withShadow = minutes.filter((m) => m.shadow.length > 0);
  if (withShadow.length === 0) return null;
  let compared = 0;
  let mismatched = 0;
  const fields = new Map<string, number>();
  const pairedLegacy: WindowSlot[] = [];
  const pairedCandidate: WindowSlot[] = [];
  let pairedMinutes = 0;
  for (const m of withShadow) {
    let paired = false;
    for (const s of m.shadow) {
      compared += s.compared;
      mismatched += s.mismatched;
      for (const [path, count] of Object.entries(s.fields)) {
        fields.set(path, (fields.get(path) ?? 0) + count);
      }
      if (s.legacy && s.candidate) {
        pairedLegacy.push(s.legacy);
        pairedCandidate.push(s.candidate);
        paired = true;
      }
    }
    if (paired) pairedMinutes++;
  }
  const seriesPoints: MismatchPoint[] = [];
  for (const [at, list] of bucketsOf(withShadow, bucketMs)) {
    const rows = list.flatMap((m) => m.shadow);
    const c = rows.reduce((total, s) => total + s.compared, 0);
    const x = rows.reduce((total, s) => total + s.mismatched, 0);
    seriesPoints.push({
      at,
      compared: c,
      mismatched: x,
      mismatchRate: figure(c > 0 ? x / c : undefined, 'no pair compared'),
    });
  }
  seriesPoints.sort((a, b) => a.at - b.at);
  const topFields = [...fields]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, TOP_FIELDS)
    .map(([path, count]) => ({ path, count, share: mismatched > 0 ? count / mismatched : 0 }));
  return {
    compared,
    mismatched,
    mismatchRate: figure(compared > 0 ? mismatched / compared : undefined, 'no pair compared'),
    paired: compare(pairedMinutes, pairedLegacy, pairedCandidate),
    pairedLatencyVerdict: judgeMetric(latencySample(pairedLegacy), latencySample(pairedCandidate)),
    bucketMs,
    series: seriesPoints,
    topFields,
  };
}
