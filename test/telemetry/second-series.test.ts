// The dashboard's 1-second series: what a sample reads from the counters every
// route keeps, the exact figures when a rollout's window is on, the rings
// freed when a side goes quiet, and the once-a-second timer (fake timers).
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import {
  buildFiguresPayload,
  FleetSeriesMerge,
  SERIES_SECONDS,
  SecondSeries,
  type SeriesRoute,
  SideStats,
  SUCCESS,
} from '../../src/telemetry/index.ts';

function route(name: string, candidate = true): SeriesRoute & { weight: number } {
  return {
    name,
    legacy: new SideStats(name, 'legacy', 'legacy'),
    candidate: candidate ? new SideStats(name, 'candidate', 'rewrite') : undefined,
    weight: 10,
  };
}

const traffic = (s: SideStats, n: number, ms: number): void => {
  for (let i = 0; i < n; i++) s.observe(200, ms / 1000, SUCCESS);
};

test('a point is the requests since the last sample, with error rate and bucket-interpolated percentiles', () => {
  const r = route('orders');
  traffic(r.legacy, 7, 3); // before the series began: never in a point
  const series = new SecondSeries(() => [r]);
  series.sample(100);
  traffic(r.legacy, 90, 3);
  traffic(r.legacy, 10, 40);
  r.legacy.observe(503, 0.003, { kind: 'failure', counted: true } as never);
  series.sample(101);
  const p = series.point('orders', 101);
  assert.ok(p);
  assert.equal(p.t, 101);
  assert.equal(p.weight, 10);
  assert.equal(p.legacy?.rps, 101);
  assert.ok(Math.abs((p.legacy?.errorRate ?? 0) - 1 / 101) < 1e-9);
  // 3 ms falls in the 2.5–5 ms bucket, 40 ms in 25–50 ms.
  assert.ok((p.legacy?.p50 ?? 0) > 2.5 && (p.legacy?.p50 ?? 0) <= 5, String(p.legacy?.p50));
  assert.ok((p.legacy?.p99 ?? 0) > 25 && (p.legacy?.p99 ?? 0) <= 50, String(p.legacy?.p99));
  assert.deepEqual(p.candidate, { rps: 0, errorRate: null, p50: null, p95: null, p99: null });
  assert.deepEqual(
    series.points('orders', 900)?.map((x) => x.t),
    [100, 101],
  );
  assert.equal(series.points('nosuch'), undefined);
});

test("a side whose rollout window is on gives that second's exact HDR figures", () => {
  const r = route('orders');
  const series = new SecondSeries(() => [r]);
  const now = Date.now();
  const second = Math.floor(now / 1000);
  series.sample(second - 1);
  r.candidate?.window(5);
  traffic(r.candidate as SideStats, 50, 30);
  series.sample(second);
  const c = series.point('orders', second)?.candidate;
  assert.equal(c?.rps, 50);
  // HDR keeps 30 ms within its precision; the bucket interpolation would answer 27.5.
  assert.ok(Math.abs((c?.p50 ?? 0) - 30) < 0.1, String(c?.p50));
});

test("the overview's summary: mean rate, error rate and the worst second's p99 over the span", () => {
  const r = route('orders');
  const series = new SecondSeries(() => [r]);
  series.sample(1000);
  traffic(r.legacy, 20, 3);
  series.sample(1001);
  traffic(r.legacy, 10, 400);
  series.sample(1002);
  const s = series.summary('orders', 'legacy', 10);
  assert.equal(s?.rps, 3);
  assert.equal(s?.errorRate, 0);
  assert.ok((s?.p99 ?? 0) > 250 && (s?.p99 ?? 0) <= 500, String(s?.p99));
  assert.equal(series.summary('orders', 'candidate', 10)?.rps ?? 0, 0);
});

test('a side quiet for 15 minutes frees its ring; its next requests still count from where they were', () => {
  const r = route('orders', false);
  const series = new SecondSeries(() => [r]);
  series.sample(1000);
  traffic(r.legacy, 5, 3);
  series.sample(1001);
  const busy = series.footprintBytes;
  for (let t = 1002; t <= SERIES_SECONDS + 1002; t++) series.sample(t);
  assert.ok(series.footprintBytes < busy, `${series.footprintBytes} < ${busy}`);
  traffic(r.legacy, 4, 3);
  series.sample(SERIES_SECONDS + 1003);
  assert.equal(series.point('orders')?.legacy?.rps, 4);
});

test('a route gone from the config is forgotten; a new one counts from its counters then', () => {
  const a = route('a');
  const b = route('b');
  traffic(b.legacy, 9, 3);
  let routes = [a];
  const series = new SecondSeries(() => routes);
  series.sample(1000);
  routes = [b];
  series.sample(1001);
  assert.equal(series.point('a'), undefined);
  assert.equal(series.point('b')?.legacy?.rps, 0);
  traffic(b.legacy, 2, 3);
  series.sample(1002);
  assert.equal(series.point('b')?.legacy?.rps, 2);
});

test('start: one sample a second, just after each second ends, until stop', () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  try {
    const r = route('orders');
    const series = new SecondSeries(() => [r]);
    const seen: number[] = [];
    series.onSample((s) => seen.push(s));
    series.start(() => Date.now());
    assert.deepEqual(seen, [999], 'the bases are read at start');
    mock.timers.tick(1050);
    assert.deepEqual(seen, [999, 1000]);
    mock.timers.tick(1000);
    mock.timers.tick(1000);
    assert.deepEqual(seen, [999, 1000, 1001, 1002]);
    series.stop();
    mock.timers.tick(5000);
    assert.equal(seen.length, 4);
  } finally {
    mock.timers.reset();
  }
});

test("attached to a fleet: each second is published, and the fleet's merge is the point; a revised second is heard again", async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  try {
    const r = route('orders');
    const merge = new FleetSeriesMerge({ localInstance: 'a' });
    const published: { second: number; legacy: readonly number[] | undefined }[] = [];
    const others = (n: number) =>
      buildFiguresPayload([], 1000, { series: new Map([['orders', { legacy: [n, 0, 2, n] }]]) })!;
    // The store as this test plays it: B published second 1000 in time, C late (with 1001).
    const store = new Map<number, { instance: string; second: number; payload: string }[]>([
      [1000, [{ instance: 'b', second: 1000, payload: others(7) }]],
      [1001, [{ instance: 'c', second: 1000, payload: others(3) }]],
    ]);
    const series = new SecondSeries(() => [r]);
    let mine = '';
    series.attach({
      publish: (second, local) => {
        published.push({ second, legacy: local.get('orders')?.legacy });
        mine = buildFiguresPayload([], second, { series: local })!;
      },
      merge: async (second) => {
        const slots = [{ instance: 'a', second, payload: mine }, ...(store.get(second) ?? [])];
        return merge.ingest(slots, second).revised.map((s) => merge.merged(s));
      },
    });
    const heard: [number, readonly number[]][] = [];
    series.onSample((s, revised) => heard.push([s, revised]));
    series.start(() => Date.now());
    traffic(r.legacy, 5, 3);
    mock.timers.tick(1050);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(published.at(-1)?.second, 1000);
    assert.equal(published.at(-1)?.legacy?.[0], 5, 'this instance published its own 5');
    assert.equal(series.point('orders', 1000)?.legacy?.rps, 12);
    assert.equal(series.point('orders', 1000)?.instances, 2);
    mock.timers.tick(1000);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(heard.slice(-2), [
      [1000, []],
      [1001, [1000]],
    ]);
    assert.equal(series.point('orders', 1000)?.legacy?.rps, 15);
    assert.equal(series.point('orders', 1000)?.instances, 3);
    assert.equal(series.point('orders', 1001)?.legacy?.rps, 0);
    series.stop();
  } finally {
    mock.timers.reset();
  }
});
