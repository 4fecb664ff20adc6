// buildReport on synthetic history: the figures against hand-computed
// values. Percentiles come from the window's HDR histogram (two significant
// digits): the reported value is the top of the bin holding the exact one,
// so exact ≤ reported ≤ exact · (1 + 1/128) — the tolerance used below.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildReport, type ReportInput, type TimelineInput } from '../../src/report/index.ts';
import { exactPercentile, minuteRow, slotFrom, timelineEntry } from '../helpers/history.ts';

const MIN = 60_000;
const WEEK = 7 * 24 * 60 * MIN;
const FROM = Date.UTC(2026, 9, 5); // a Monday
const BIN = 1 / 128;

function withinBin(reported: number | null, exact: number, what: string): void {
  assert.ok(reported !== null, `${what}: a number`);
  assert.ok(
    reported >= exact && reported <= exact * (1 + BIN),
    `${what}: ${reported} within [${exact}, ${exact * (1 + BIN)}]`,
  );
}

/** Legacy 40..59.8 ms (1000 a minute, 3 failed), candidate 10..14.95 ms (1000 a minute, 1 failed). */
const legacyLatencies = Array.from({ length: 1000 }, (_, j) => 40 + (j % 100) * 0.2);
const candidateLatencies = Array.from({ length: 1000 }, (_, j) => 10 + (j % 100) * 0.05);

function input(extra: Partial<ReportInput> = {}): ReportInput {
  const minutes = [];
  // Ten minutes of legacy alone, very slow: not the same windows, so not in the comparison.
  for (let i = 0; i < 10; i++)
    minutes.push(minuteRow(FROM + i * MIN, { legacy: slotFrom([900, 950]) }));
  // Thirty minutes where both served.
  for (let i = 10; i < 40; i++) {
    minutes.push(
      minuteRow(FROM + i * MIN, {
        legacy: slotFrom(legacyLatencies, 3),
        candidate: slotFrom(candidateLatencies, 1),
      }),
    );
  }
  return {
    from: FROM,
    until: FROM + 60 * MIN,
    routes: [{ route: 'orders', minutes }],
    timeline: [],
    generatedAt: FROM + 60 * MIN,
    ...extra,
  };
}

test('p50/p95/p99 on the same windows, p99DropRate, error rates, TPS and the throughput ratio', () => {
  const report = buildReport(input({ instances: { legacy: 4, candidate: 2 } }));
  const r = report.routes[0];
  assert.equal(r.route, 'orders');
  assert.deepEqual(r.minutes, { legacy: 40, candidate: 30, both: 30 });
  assert.deepEqual(r.requests, { legacy: 10 * 2 + 30 * 1000, candidate: 30 * 1000 });
  const s = r.sameWindows;
  assert.equal(s.minutes, 30);
  assert.equal(s.legacy.requests, 30_000, 'the legacy-only minutes are not in the same windows');
  for (const p of [50, 95, 99] as const) {
    const key = `p${p}` as const;
    withinBin(s.legacy[key].value, exactPercentile(legacyLatencies, p), `legacy p${p}`);
    withinBin(s.candidate[key].value, exactPercentile(candidateLatencies, p), `candidate p${p}`);
  }
  const oldP99 = exactPercentile(legacyLatencies, 99);
  const newP99 = exactPercentile(candidateLatencies, 99);
  const drop = (oldP99 - newP99) / oldP99;
  assert.ok(s.p99DropRate.value !== null);
  // Both p99s are up to 1/128 high: the drop rate is within that of the exact one.
  assert.ok(Math.abs(s.p99DropRate.value - drop) < 0.01, `${s.p99DropRate.value} ≈ ${drop}`);
  assert.equal(s.legacy.errorRate.value, 3 / 1000);
  assert.equal(s.candidate.errorRate.value, 1 / 1000);
  // TPS over every minute the side served.
  assert.equal(r.tps.legacy.value, (10 * 2 + 30_000) / (40 * 60));
  assert.equal(r.tps.candidate.value, 30_000 / (30 * 60));
  const ratio = 30_000 / (30 * 60) / 2 / ((10 * 2 + 30_000) / (40 * 60) / 4);
  assert.ok(Math.abs((r.throughputPerInstanceRatio.value ?? 0) - ratio) < 1e-12);
  assert.equal(r.verdicts.latency.verdict, 'lower');
  assert.ok((r.verdicts.latency.medianRatio ?? 1) < 0.3, 'effect size: the median ratio');
  assert.match(report.summary, /^orders: p99 .* → .* \(−7\d(\.\d)?%\), errors 0\.3% → 0\.1%/);
});

test('missing data is n/a with a reason, and too few samples give nodata, never pass', () => {
  const few = buildReport({
    from: FROM,
    until: FROM + 60 * MIN,
    routes: [
      {
        route: 'search',
        minutes: [
          minuteRow(FROM, {
            legacy: slotFrom([40, 41, 42, 43, 44]),
            candidate: slotFrom([10, 11]),
          }),
          minuteRow(FROM + MIN, { legacy: slotFrom([40]) }),
        ],
      },
    ],
    timeline: [],
    generatedAt: FROM,
  });
  const r = few.routes[0];
  assert.equal(r.verdicts.latency.verdict, 'nodata');
  assert.equal(r.verdicts.errorRate.verdict, 'nodata');
  assert.match(r.verdicts.latency.reason, /fewer than 20/);
  assert.deepEqual(r.throughputPerInstanceRatio, {
    value: null,
    na: 'instance counts not given (--instances or Prometheus)',
  });
  assert.equal(r.shadow, null);

  const legacyOnly = buildReport({
    from: FROM,
    until: FROM + 60 * MIN,
    routes: [{ route: 'cart', minutes: [minuteRow(FROM, { legacy: slotFrom([40]) })] }],
    timeline: [],
    instances: { legacy: 1, candidate: 1 },
    generatedAt: FROM,
  }).routes[0];
  assert.equal(legacyOnly.sameWindows.p99DropRate.value, null);
  assert.deepEqual(legacyOnly.sameWindows.candidate.p99, { value: null, na: 'no request' });
  assert.deepEqual(legacyOnly.tps.candidate, {
    value: null,
    na: 'candidate served no minute of the span',
  });
  assert.equal(legacyOnly.throughputPerInstanceRatio.value, null);
});

/** An entry of the orders route's ledger. */
const entry = (at: number, fields: Partial<TimelineInput>): TimelineInput =>
  timelineEntry(at, 'orders', fields);

const failedErrorGate = {
  name: 'errorRate',
  status: 'failed',
  value: 0.012,
  threshold: 0.003,
  bound: 'max',
  unit: 'ratio',
  detail: '12 of 1000 failed',
} as const;

test('the timeline: every step, pause and rollback in time order, with the gate values behind a rollback', () => {
  const t = (m: number) => FROM + m * MIN;
  const timeline: TimelineInput[] = [
    entry(t(30), {
      from: 'canary',
      to: 'rolled-back',
      previousWeight: 25,
      weight: 0,
      reason: 'errorRate gate failed 3 times',
      failures: 3,
      gates: [
        failedErrorGate,
        {
          ...failedErrorGate,
          name: 'p95',
          status: 'passed',
          value: 20,
          threshold: 800,
          unit: 'ms',
        },
      ],
    }),
    entry(t(1), { from: 'shadow', to: 'canary', step: 0, previousWeight: 0, weight: 1 }),
    entry(t(10), { step: 1, previousWeight: 1, weight: 5 }),
    entry(t(12), {
      kind: 'gates',
      weight: 5,
      previousWeight: 5,
      gates: [{ ...failedErrorGate, status: 'passed', value: 0.001 }],
    }),
    entry(t(15), {
      from: 'canary',
      to: 'paused',
      previousWeight: 5,
      weight: 5,
      by: 'api',
      reason: 'lunch',
    }),
    entry(t(20), { from: 'paused', to: 'canary', previousWeight: 5, weight: 5, by: 'api' }),
    entry(t(25), { step: 2, previousWeight: 5, weight: 25 }),
    entry(t(29), { kind: 'gates', weight: 25, previousWeight: 25, gates: [failedErrorGate] }),
    entry(t(90), { to: 'done', previousWeight: 25, weight: 100 }), // after `until`: not in the span
  ];
  const report = buildReport(input({ timeline }));
  assert.deepEqual(
    report.timeline.map((e) => [e.at, e.event, e.weight]),
    [
      [t(1), 'step', 1],
      [t(10), 'step', 5],
      [t(15), 'pause', 5],
      [t(20), 'resume', 5],
      [t(25), 'step', 25],
      [t(29), 'gate-failure', 25],
      [t(30), 'rollback', 0],
    ],
    'time order; the passing check is left out; the entry after the span too',
  );
  const rollback = report.timeline.at(-1);
  assert.deepEqual(
    rollback?.failedGates,
    [failedErrorGate],
    'only the failed gate: 1.2% against 0.3%',
  );
  assert.equal(rollback?.reason, 'errorRate gate failed 3 times');
  assert.deepEqual(report.routes[0].weights, [
    { at: t(1), weight: 0, rollback: false },
    { at: t(1), weight: 1, rollback: false },
    { at: t(10), weight: 5, rollback: false },
    { at: t(25), weight: 25, rollback: false },
    { at: t(30), weight: 0, rollback: true },
  ]);
  assert.equal(report.incidents.list.filter((i) => i.source === 'rollback').length, 1);
  assert.equal(report.incidents.list.filter((i) => i.source === 'gate-failure').length, 1);
  assert.match(
    report.incidents.list.find((i) => i.source === 'rollback')?.note ?? '',
    /errorRate 0\.012 vs 0\.003/,
  );
});

test('shadow: mismatch rate over time, the top differing fields, and the same requests paired', () => {
  const shadow = (mismatched: number, fields: Record<string, number>) => ({
    compared: 100,
    mismatched,
    instance: 'x',
    fields,
    legacy: slotFrom(legacyLatencies.slice(0, 100)),
    candidate: slotFrom(candidateLatencies.slice(0, 100)),
  });
  const minutes = [
    minuteRow(FROM, {
      legacy: slotFrom([40]),
      shadow: shadow(10, { '$.price': 8, 'header:etag': 2 }),
    }),
    minuteRow(FROM + MIN, {
      legacy: slotFrom([40]),
      shadow: shadow(2, { '$.price': 1, status: 1 }),
    }),
  ];
  const report = buildReport({
    from: FROM,
    until: FROM + 60 * MIN,
    routes: [{ route: 'orders', minutes }],
    timeline: [],
    generatedAt: FROM,
  });
  const sh = report.routes[0].shadow;
  assert.ok(sh);
  assert.equal(sh.compared, 200);
  assert.equal(sh.mismatched, 12);
  assert.equal(sh.mismatchRate.value, 12 / 200);
  assert.equal(sh.bucketMs, MIN);
  assert.deepEqual(
    sh.series.map((p) => [p.at, p.mismatchRate.value]),
    [
      [FROM, 0.1],
      [FROM + MIN, 0.02],
    ],
  );
  assert.deepEqual(
    sh.topFields.map((f) => [f.path, f.count]),
    [
      ['$.price', 9],
      ['header:etag', 2],
      ['status', 1],
    ],
  );
  withinBin(
    sh.paired.legacy.p99.value,
    exactPercentile(legacyLatencies.slice(0, 100), 99),
    'paired legacy p99',
  );
  withinBin(
    sh.paired.candidate.p99.value,
    exactPercentile(candidateLatencies.slice(0, 100), 99),
    'paired candidate p99',
  );
  assert.equal(sh.pairedLatencyVerdict.verdict, 'lower');
});

test('incidents per week: rollbacks, breaker openings, gate failures and imported ones; the fit recovers k', () => {
  const weeks = 20;
  const k = 0.15;
  // Deterministic weekly counts round(40·e^(−0.15 t)): the fit must give k back.
  const counts = Array.from({ length: weeks }, (_, t) => Math.round(40 * Math.exp(-k * t)));
  const incidents = counts.flatMap((n, t) =>
    Array.from({ length: n }, (_, i) => ({
      at: FROM + t * WEEK + i * MIN,
      kind: 'page',
      route: '',
      note: '',
    })),
  );
  // Replace one imported incident in week 0 and one in week 1 by ones the gateway saw.
  incidents.shift();
  const minutes = [
    minuteRow(FROM + 5 * MIN, {
      legacy: slotFrom([40]),
      breakerOpenings: { legacy: 0, candidate: 1 },
    }),
  ];
  const timeline = [
    entry(FROM + WEEK + 3 * MIN, {
      to: 'rolled-back',
      previousWeight: 5,
      weight: 0,
      gates: [failedErrorGate],
    }),
  ];
  incidents.splice(counts[0] - 1, 1);
  const report = buildReport({
    from: FROM,
    until: FROM + weeks * WEEK + 2 * 24 * 60 * MIN,
    routes: [{ route: 'orders', minutes }],
    timeline,
    incidents: [
      ...incidents,
      { at: FROM + weeks * WEEK + MIN, kind: 'page', route: 'orders', note: 'late' },
    ],
    generatedAt: FROM,
  });
  const inc = report.incidents;
  assert.equal(inc.weeks.length, weeks);
  assert.deepEqual(
    inc.weeks.map((w) => w.total),
    counts,
  );
  assert.equal(inc.weeks[0].breakerOpenings, 1);
  assert.equal(inc.weeks[1].rollbacks, 1);
  assert.equal(inc.partialWeek, 1, 'the incident after the last whole week is not fitted');
  assert.ok(!('na' in inc.fit));
  assert.ok(Math.abs(inc.fit.k - k) < 0.01, `k = ${inc.fit.k}`);
  assert.ok(inc.fit.kLow < k && k < inc.fit.kHigh);
  assert.ok(inc.fit.halfLifeWeeks.value !== null);
  assert.ok(Math.abs(inc.fit.halfLifeWeeks.value - Math.LN2 / k) < 0.4);
  assert.match(report.summary, /incidents halve every 4\.\d weeks/);

  const short = buildReport({ ...input(), until: FROM + 2 * WEEK }).incidents;
  assert.deepEqual(short.fit, { na: '2 whole week(s) in the span; the fit needs at least 3' });
});

test('the whole migration merges the routes minute by minute', () => {
  const base = input();
  const other = {
    route: 'cart',
    minutes: [
      minuteRow(FROM + 10 * MIN, { legacy: slotFrom([100], 1), candidate: slotFrom([20, 20]) }),
    ],
  };
  const report = buildReport({ ...base, routes: [...base.routes, other] });
  assert.deepEqual(
    report.routes.map((r) => r.route),
    ['cart', 'orders'],
  );
  assert.equal(report.overall.route, 'all routes');
  assert.equal(report.overall.sameWindows.legacy.requests, 30_001);
  assert.equal(report.overall.sameWindows.legacy.errors, 91);
  assert.equal(report.overall.sameWindows.candidate.requests, 30_002);
  assert.match(report.summary, /all routes: p99/);
});
