// One migration with everything in it, for the format and browser tests:
// legacy at ~40 ms and candidate at ~10 ms over three hours, a canary with
// a rollback then a promotion, shadow pairs, breaker openings, six weeks of
// imported incidents, a plan — and a route name that is HTML.
import type { ReportInput } from '../../src/report/index.ts';
import { minuteRow, slotFrom, timelineEntry } from '../helpers/history.ts';
import { prng } from '../helpers/prng.ts';

const MIN = 60_000;
const WEEK = 7 * 24 * 60 * MIN;
export const FIXTURE_FROM = Date.UTC(2026, 9, 5);
/** The traffic is in the last three hours of the six weeks. */
const TRAFFIC = FIXTURE_FROM + 6 * WEEK - 3 * 60 * MIN;
export const HOSTILE_ROUTE = '<script>alert("x")</script>&co';

function latencies(random: () => number, n: number, base: number): number[] {
  return Array.from(
    { length: n },
    () => base * (0.8 + 0.4 * random()) + (random() < 0.02 ? base * 2 : 0),
  );
}

export function fixtureInput(): ReportInput {
  const random = prng(13);
  const orders = [];
  const hostile = [];
  for (let i = 0; i < 180; i++) {
    const minute = TRAFFIC + i * MIN;
    const canary = i >= 20;
    orders.push(
      minuteRow(minute, {
        legacy: slotFrom(latencies(random, 300, 40), 1),
        candidate: canary ? slotFrom(latencies(random, 100, 10), i % 10 === 0 ? 1 : 0) : undefined,
        breakerOpenings: { legacy: 0, candidate: i === 60 ? 1 : 0 },
        shadow: {
          compared: 50,
          mismatched: i < 90 ? 5 : 1,
          fields: { '$.items[*].price': i < 90 ? 4 : 1, 'header:<etag>': 1 },
          legacy: slotFrom(latencies(random, 50, 40)),
          candidate: slotFrom(latencies(random, 50, 10)),
        },
      }),
    );
    if (i % 2 === 0) {
      hostile.push(
        minuteRow(minute, {
          legacy: slotFrom(latencies(random, 30, 80)),
          candidate: slotFrom(latencies(random, 30, 70)),
        }),
      );
    }
  }
  const t = (i: number) => TRAFFIC + i * MIN;
  const failed = {
    name: 'errorRate',
    status: 'failed',
    value: 0.012,
    threshold: 0.003,
    bound: 'max',
    unit: 'ratio',
    detail: '12 of 1000',
  } as const;
  const timeline = [
    timelineEntry(t(0), 'orders', { from: 'off', to: 'shadow' }),
    timelineEntry(t(20), 'orders', { from: 'shadow', to: 'canary', step: 0, weight: 1 }),
    timelineEntry(t(40), 'orders', { step: 1, previousWeight: 1, weight: 5 }),
    timelineEntry(t(60), 'orders', {
      to: 'rolled-back',
      previousWeight: 5,
      weight: 0,
      reason: 'errorRate <b>failed</b>',
      gates: [failed],
    }),
    timelineEntry(t(80), 'orders', {
      from: 'rolled-back',
      to: 'canary',
      step: 0,
      weight: 1,
      by: 'api',
    }),
    timelineEntry(t(120), 'orders', { step: 2, previousWeight: 1, weight: 25 }),
    timelineEntry(t(170), 'orders', { to: 'done', previousWeight: 25, weight: 100 }),
  ];
  const weekly = [9, 7, 5, 4, 2, 2];
  const incidents = weekly.flatMap((n, w) =>
    Array.from({ length: n }, (_, i) => ({
      at: FIXTURE_FROM + w * WEEK + i * 3_600_000,
      kind: 'page',
      route: 'orders',
      note: 'pager',
    })),
  );
  return {
    from: FIXTURE_FROM,
    until: FIXTURE_FROM + 6 * WEEK,
    routes: [
      { route: 'orders', minutes: orders },
      { route: HOSTILE_ROUTE, minutes: hostile },
    ],
    timeline,
    instances: { legacy: 6, candidate: 2 },
    incidents,
    plan: {
      modules: [
        {
          name: 'orders',
          stage: 'L1',
          cost: {
            days: 90,
            people: 40.5,
            compatibility: 27,
            observability: 22.5,
            inputs: { baseDays: 50, skillFactor: 1.8, teamSize: 3 },
          },
        },
        { name: 'billing', stage: 'L3', cost: undefined },
      ],
    },
    generatedAt: FIXTURE_FROM + 6 * WEEK,
  };
}
