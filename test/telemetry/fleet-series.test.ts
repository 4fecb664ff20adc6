// The dashboard's figures over the fleet: every instance's published second
// merged into one point per route and side — counts summed, latency from the
// windows' HDR slots when every instance serving the side kept one, from the
// summed buckets otherwise — late payloads revising their second, the other
// instances' events and shadow pairs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildFiguresPayload,
  FleetSeriesMerge,
  LATENCY_BUCKETS,
  type PayloadExtras,
  type RouteFigureSource,
  type SeriesSide,
  SlidingWindow,
} from '../../src/telemetry/index.ts';
import { randomRequests, recordSecond, seeded, T0, T0_SECOND } from '../helpers/random-traffic.ts';

const S = T0_SECOND + 2;

/** A side's published second: `perBucket[i]` requests in bucket i, `errors` of them failed. */
function side(perBucket: Record<number, number>, errors = 0): SeriesSide {
  const out = [0, errors];
  for (const [i, n] of Object.entries(perBucket)) {
    out[0] += n;
    out.push(Number(i), n);
  }
  return out;
}

function payload(extras: PayloadExtras, sources: RouteFigureSource[] = [], second = S): string {
  return buildFiguresPayload(sources, second, extras)!;
}

const at = (instance: string, second: number, text: string) => ({
  instance,
  second,
  payload: text,
});

test('the sides of a route summed over instances, percentiles from the summed buckets', () => {
  const merge = new FleetSeriesMerge({ localInstance: 'a' });
  // A: 100 requests in the 5–10 ms bucket, 4 failed; B: 100 in the 25–50 ms bucket.
  const a = payload({ series: new Map([['r', { legacy: side({ 3: 100 }, 4) }]]) });
  const b = payload({
    series: new Map([['r', { legacy: side({ 5: 100 }), candidate: side({ 0: 10 }) }]]),
  });
  const { revised } = merge.ingest([at('a', S, a), at('b', S, b)], S);
  assert.deepEqual(revised, [S]);
  const m = merge.merged(S);
  assert.equal(m.instances, 2);
  const legacy = m.routes.get('r')?.legacy;
  assert.equal(legacy?.requests, 200);
  assert.equal(legacy?.errors, 4);
  // Rank 100 of 200 ends bucket 3 (≤ 10 ms); rank 198 is 98% into bucket 5 (25–50 ms).
  assert.equal(legacy?.p50, 10);
  assert.ok(Math.abs((legacy?.p99 ?? 0) - 49.5) < 1e-9, String(legacy?.p99));
  assert.equal(m.routes.get('r')?.candidate?.requests, 10);
  assert.equal(merge.merged(S - 1).instances, 0, 'a second nobody published');
});

test('every serving instance kept a window: the exact HDR figures of all requests', () => {
  const random = seeded(7);
  const windows = () => new SlidingWindow({ retainSeconds: 10, clock: () => T0 + 3_100 });
  const wa = windows();
  const wb = windows();
  const both = windows();
  const ra = randomRequests(random, 300);
  const rb = randomRequests(random, 50);
  recordSecond([wa, both], S, ra);
  recordSecond([wb, both], S, rb);
  const src = (w: SlidingWindow): RouteFigureSource => ({
    route: 'r',
    legacy: w,
    candidate: undefined,
    candidateCount: 0,
    shadow: undefined,
    candidateBreakerOpen: false,
  });
  // The buckets say less than the slots: the merge must use the slots.
  const series = (n: number) => new Map([['r', { legacy: side({ 13: n }) }]]);
  const merge = new FleetSeriesMerge({ localInstance: 'a' });
  merge.ingest(
    [
      at('a', S, payload({ series: series(300) }, [src(wa)])),
      at('b', S, payload({ series: series(50) }, [src(wb)])),
    ],
    S,
  );
  const legacy = merge.merged(S).routes.get('r')?.legacy;
  const exact = both.snapshot(S * 1000);
  assert.equal(legacy?.p50, exact.p50);
  assert.equal(legacy?.p95, exact.p95);
  assert.equal(legacy?.p99, exact.p99);
  assert.ok(exact.p50 < LATENCY_BUCKETS[12] * 1000, 'not the bucket figure');

  // One instance without a window that second: the buckets of both, as a Prometheus query would.
  const mixed = new FleetSeriesMerge({ localInstance: 'a' });
  mixed.ingest(
    [
      at('a', S, payload({ series: series(300) }, [src(wa)])),
      at('b', S, payload({ series: series(50) })),
    ],
    S,
  );
  assert.equal(mixed.merged(S).routes.get('r')?.legacy?.p50, LATENCY_BUCKETS[12] * 1000);
});

test('a late payload revises its second; each is taken once; too old is not taken', () => {
  const merge = new FleetSeriesMerge({ localInstance: 'a', reviseSeconds: 2 });
  const one = (n: number) => payload({ series: new Map([['r', { legacy: side({ 2: n }) }]]) });
  assert.deepEqual(merge.ingest([at('a', S, one(5))], S).revised, [S]);
  // B's payload of S comes with the next read: S is answered again, now with both.
  const next = merge.ingest(
    [at('a', S, one(5)), at('a', S + 1, one(1)), at('b', S, one(7))],
    S + 1,
  );
  assert.deepEqual(next.revised, [S, S + 1]);
  assert.equal(merge.merged(S).routes.get('r')?.legacy?.requests, 12);
  assert.deepEqual(merge.ingest([at('b', S, one(7))], S + 1).revised, [], 'taken once');
  // Three seconds on, S is closed: a payload of it changes nothing.
  assert.deepEqual(merge.ingest([at('c', S, one(9))], S + 3).revised, []);
});

test("events are the other instances' only; a malformed payload is counted, not thrown", () => {
  const merge = new FleetSeriesMerge({ localInstance: 'a' });
  const breaker = { backend: 'be', route: 'r', from: 'closed', to: 'open', reason: 'y', at: 1 };
  const note = { route: 'r', kind: 'note', reason: 'weight set by hand' };
  const events = { breakers: [breaker], notes: [note] };
  const { events: remote } = merge.ingest(
    [at('a', S, payload({ events })), at('b', S, payload({ events })), at('c', S, '{')],
    S,
  );
  assert.deepEqual(remote, [
    { kind: 'breaker', instance: 'b', event: breaker },
    { kind: 'note', instance: 'b', entry: note },
  ]);
  assert.equal(merge.rejected, 1);
});

test("shadow pairs: each instance's latest, summed; none while only this instance counts", () => {
  const merge = new FleetSeriesMerge({ localInstance: 'a', silentSeconds: 10 });
  const pairs = (compared: number, mismatched: number, second: number) =>
    payload({ series: new Map([['r', { shadow: [compared, mismatched] as const }]]) }, [], second);
  merge.ingest([at('a', S, pairs(10, 1, S))], S);
  assert.equal(merge.shadow('r'), undefined, 'alone: the caller reads its own tally');
  merge.ingest([at('b', S + 1, pairs(30, 3, S + 1)), at('a', S + 1, pairs(12, 2, S + 1))], S + 1);
  assert.deepEqual(merge.shadow('r'), { compared: 42, mismatched: 5 });
  // B goes quiet: eleven seconds later its pairs leave the sum.
  merge.ingest([at('a', S + 12, pairs(20, 2, S + 12))], S + 12);
  assert.equal(merge.shadow('r'), undefined);
});
