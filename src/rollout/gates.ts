// The gates of a rollout, as pure functions of the numbers the controller
// gathers: the candidate's and legacy's sliding windows over the same span,
// the shadow pairs compared since the phase began, and the last value of each
// Prometheus query. A gate with too little data is `waiting`, never `passed`;
// it fails early only when no amount of further good data could make it pass.
import type { RolloutConfig } from '../config/index.ts';
import type { GateResult, ShadowTally } from './types.ts';

/** What a gate needs of one side's window (telemetry's WindowSnapshot has these). */
export interface SideFigures {
  readonly requests: number;
  readonly errors: number;
  readonly p95: number;
  readonly p99: number;
  /** Requests in the same span slower than `ms`. */
  countAbove(ms: number): number;
}

/** The last answer of a Prometheus gate's query. */
export interface QueryFigure {
  readonly value: number | undefined;
  /** Why there is no value (an error, or no data yet). */
  readonly problem: string | undefined;
}

export interface GateInput {
  readonly candidate: SideFigures;
  readonly legacy: SideFigures;
  /** Shadow pairs since the phase began; undefined without shadow. */
  readonly shadow: ShadowTally | undefined;
  readonly queries: ReadonlyMap<string, QueryFigure>;
}

export type Phase = 'shadow' | 'canary';

const CANDIDATE_FAILED = ['candidate requests', 'failed'] as const;

/** One-sided 99.9%: the baseline p99 test runs every second, so a looser bound would cry wolf. */
const P99_Z = 3.09;

/** Below this many samples a p99 is just the slowest request. */
export const P99_MIN_SAMPLES = 100;

const pct = (r: number): string => `${(r * 100).toFixed(r !== 0 && r < 0.001 ? 3 : 2)}%`;
const ms = (v: number): string => `${v.toFixed(v < 10 ? 2 : 1)} ms`;

function result(
  name: string,
  status: GateResult['status'],
  value: number | null,
  threshold: number,
  unit: GateResult['unit'],
  detail: string,
  bound: 'max' | 'min' = 'max',
): GateResult {
  return Object.freeze({ name, status, value, threshold, bound, unit, detail });
}

/**
 * A rate gate over `n` events of which `bad` count against it: waiting below
 * `min` events unless `bad` already exceeds what `min` events may hold.
 */
function rateGate(
  name: string,
  bad: number,
  n: number,
  min: number,
  threshold: number,
  [noun, verb]: readonly [string, string],
  extra = '',
): GateResult {
  const value = n === 0 ? null : bad / n;
  const what = `${noun} ${verb}`;
  const suffix = extra ? `; ${extra}` : '';
  if (n < min) {
    if (bad > threshold * min) {
      return result(
        name,
        'failed',
        value,
        threshold,
        'ratio',
        `${bad} of ${n} ${what}, already above ${pct(threshold)} of ${min}${suffix}`,
      );
    }
    return result(
      name,
      'waiting',
      value,
      threshold,
      'ratio',
      `${n} of ${min} ${noun} needed${suffix}`,
    );
  }
  const status = (value as number) > threshold ? 'failed' : 'passed';
  return result(name, status, value, threshold, 'ratio', `${bad} of ${n} ${what}${suffix}`);
}

/**
 * The shadow gate. While noise is still being learned (the route's first
 * probes are not all back, or a field changed its noise verdict within the
 * last pairs) a learned field may still clear mismatches, so the ratio is
 * shown but the gate neither passes nor fails: it waits.
 */
function mismatchGate(shadow: ShadowTally | undefined, min: number, threshold: number): GateResult {
  const compared = shadow?.compared ?? 0;
  const mismatched = shadow?.mismatched ?? 0;
  if (shadow !== undefined && !shadow.settled) {
    return result(
      'mismatchRate',
      'waiting',
      compared === 0 ? null : mismatched / compared,
      threshold,
      'ratio',
      `${mismatched} of ${compared} compared pairs differ so far; noise still being learned`,
    );
  }
  return rateGate('mismatchRate', mismatched, compared, min, threshold, [
    'compared pairs',
    'differ',
  ]);
}

export function evaluateGates(config: RolloutConfig, input: GateInput, phase: Phase): GateResult[] {
  const g = config.gates;
  const min = config.minRequests;
  const out: GateResult[] = [];
  if (phase === 'shadow') {
    if (g.mismatchRate !== undefined) out.push(mismatchGate(input.shadow, min, g.mismatchRate));
    return out;
  }
  const c = input.candidate;
  const l = input.legacy;
  if (g.errorRate !== undefined) {
    out.push(rateGate('errorRate', c.errors, c.requests, min, g.errorRate, CANDIDATE_FAILED));
  }
  if (g.p95 !== undefined) {
    out.push(
      c.requests < min
        ? result(
            'p95',
            'waiting',
            c.requests === 0 ? null : c.p95,
            g.p95,
            'ms',
            `${c.requests} of ${min} candidate requests needed`,
          )
        : result(
            'p95',
            c.p95 > g.p95 ? 'failed' : 'passed',
            c.p95,
            g.p95,
            'ms',
            `candidate p95 over ${c.requests} requests`,
          ),
    );
  }
  const b = g.baseline;
  if (b !== undefined) {
    const legacyRate = l.requests === 0 ? 0 : l.errors / l.requests;
    const errorBound = legacyRate + Math.max(legacyRate * b.errorRate, b.errorRateFloor);
    const legacyNote = `legacy ${pct(legacyRate)} over ${l.requests}`;
    if (l.requests < min && c.requests >= min) {
      out.push(
        result(
          'baselineErrorRate',
          'waiting',
          c.errors / c.requests,
          errorBound,
          'ratio',
          `${l.requests} of ${min} legacy requests needed`,
        ),
      );
    } else {
      out.push(
        rateGate(
          'baselineErrorRate',
          c.errors,
          c.requests,
          min,
          errorBound,
          CANDIDATE_FAILED,
          legacyNote,
        ),
      );
    }
    const p99Bound = l.p99 + Math.max(l.p99 * b.p99, b.p99Floor);
    // A p99 of fewer than 100 samples is the maximum, one slow request; not a comparison.
    const p99Min = Math.max(min, P99_MIN_SAMPLES);
    if (c.requests < p99Min || l.requests < p99Min) {
      const side =
        c.requests < p99Min
          ? `${c.requests} of ${p99Min} candidate`
          : `${l.requests} of ${p99Min} legacy`;
      out.push(
        result(
          'baselineP99',
          'waiting',
          c.requests === 0 ? null : c.p99,
          p99Bound,
          'ms',
          `${side} requests needed`,
        ),
      );
    } else {
      out.push(baselineP99(c, l, p99Bound));
    }
  }
  for (const q of g.prometheus) {
    const threshold = (q.max ?? q.min) as number;
    const bound = q.max !== undefined ? 'max' : 'min';
    const figure = input.queries.get(q.name);
    if (figure?.value === undefined) {
      out.push(
        result(
          q.name,
          'waiting',
          null,
          threshold,
          'number',
          figure?.problem ?? 'no answer yet',
          bound,
        ),
      );
      continue;
    }
    const v = figure.value;
    const failed = bound === 'max' ? v > threshold : v < threshold;
    out.push(result(q.name, failed ? 'failed' : 'passed', v, threshold, 'number', q.query, bound));
  }
  return out;
}

/**
 * Candidate p99 against legacy's (plus the allowed margin). A p99 from a few
 * hundred samples swings by a slow request or two, so the decision is a
 * one-sided binomial test: if the candidate were as fast as legacy, at most
 * 1% of its requests would be slower than the bound; the gate fails only when
 * clearly more are. The check repeats every second over overlapping windows,
 * so each test must be strict: z = 3.09 (one-sided 99.9%). The p99 itself is shown.
 */
function baselineP99(c: SideFigures, l: SideFigures, bound: number): GateResult {
  const n = c.requests;
  const slower = c.countAbove(bound);
  const expected = n * 0.01;
  const tolerated = Math.floor(expected + P99_Z * Math.sqrt(n * 0.01 * 0.99)) + 1;
  const significant = slower > tolerated;
  const detail = `${slower} of ${n} candidate requests slower than legacy p99 ${ms(l.p99)} + margin (${tolerated} tolerated)`;
  return result('baselineP99', significant ? 'failed' : 'passed', c.p99, bound, 'ms', detail);
}

/** One line for logs, the ledger and webhooks: `errorRate 4.10% > 0.30% (41 of 1000 …)`. */
export function describeGate(gate: GateResult): string {
  const fmt = (v: number): string =>
    gate.unit === 'ratio' ? pct(v) : gate.unit === 'ms' ? ms(v) : String(v);
  const value = gate.value === null ? 'no data' : fmt(gate.value);
  const v = gate.value;
  const op =
    gate.bound === 'max'
      ? v !== null && v > gate.threshold
        ? '>'
        : '≤'
      : v !== null && v < gate.threshold
        ? '<'
        : '≥';
  const head =
    gate.status === 'waiting'
      ? `${gate.name} waiting`
      : `${gate.name} ${value} ${op} ${fmt(gate.threshold)}`;
  return `${head} (${gate.detail})`;
}
