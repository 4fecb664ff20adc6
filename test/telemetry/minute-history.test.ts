// The report's minute history: recorded per route × side and per route's
// shadow pairs, flushed at each minute boundary (fake timers) and at stop,
// rewritten as the minute fills, retried after a failed write, and read back
// merged over instances.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it, mock } from 'node:test';
import { MemoryStore, RedisFleet } from '../../src/state/index.ts';
import {
  MINUTE_MS,
  MinuteHistory,
  readRouteHistory,
  readRouteHistoryCounted,
  SlidingWindow,
} from '../../src/telemetry/index.ts';
import { prng } from '../helpers/prng.ts';
import { PATIENT, startRedis, type TestRedis } from '../helpers/redis-server.ts';
import { eventually } from '../state/fleet-contract.ts';

/** A minute start well inside the retention (fake timers start here, 10 s in). */
const M = Math.floor(Date.UTC(2026, 10, 30, 12, 0) / MINUTE_MS) * MINUTE_MS;
const DAY = 86_400_000;

const requestsOf = (slot: { byClass: readonly number[] } | undefined) =>
  slot ? slot.byClass.reduce((a, b) => a + b, 0) : 0;

describe('minute history on fake timers', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: M + 10_000 }));
  afterEach(() => mock.timers.reset());

  it('writes each minute just after it ends, the minute so far at stop, and rewrites it as it fills', async () => {
    const clock = () => Date.now();
    const store = new MemoryStore(clock);
    const history = new MinuteHistory({ clock });
    const legacy = history.side('orders', 'legacy', 'old');
    const candidate = history.side('orders', 'candidate', 'new');
    for (let i = 0; i < 8; i++) legacy.record(200, 40, false, clock());
    candidate.record(200, 10, false, clock());
    candidate.record(503, 12, true, clock());
    history.start({ sink: store, instance: 'i-1', retainMs: DAY });

    mock.timers.tick(50_000); // M + 60 s: the minute is over, the flush waits 1 s more
    assert.deepEqual(await store.readHistory(M, M), [], 'nothing before the flush');
    legacy.record(200, 40, false, clock()); // the next minute's first request
    mock.timers.tick(1_000);
    await history.flush(); // the timer's flush is under way: wait for it (and a second one: nothing new)
    let [orders] = await readRouteHistory(store, { from: M, until: M + MINUTE_MS });
    assert.equal(orders.route, 'orders');
    assert.deepEqual(
      orders.minutes.map((m) => [m.minute, requestsOf(m.legacy), requestsOf(m.candidate)]),
      [[M, 8, 2]],
      'the minute over, alone: the next one is not written until it ends or stop',
    );
    assert.deepEqual(orders.minutes[0].candidate?.byClass, [0, 1, 0, 0, 1]);
    assert.equal(orders.minutes[0].instances, 1);

    await history.stop();
    [orders] = await readRouteHistory(store, { from: M, until: M + MINUTE_MS });
    assert.deepEqual(
      orders.minutes.map((m) => [m.minute, requestsOf(m.legacy)]),
      [
        [M, 8],
        [M + MINUTE_MS, 1],
      ],
    );
    // The same minute, grown, written again: one row, the newer counts.
    legacy.record(200, 40, false, clock());
    await history.flush(true);
    [orders] = await readRouteHistory(store, { from: M + MINUTE_MS, until: M + MINUTE_MS });
    assert.equal(requestsOf(orders.minutes[0].legacy), 2);
    assert.equal((await store.readHistory(M + MINUTE_MS, M + MINUTE_MS)).length, 1);
  });

  it('keeps the latency histogram in the windows’ units (the same percentiles a window gives)', async () => {
    const clock = () => Date.now();
    const store = new MemoryStore(clock);
    const history = new MinuteHistory({ clock });
    const window = new SlidingWindow({ retainSeconds: 60, clock });
    const side = history.side('r', 'legacy');
    history.start({ sink: store, instance: 'i-1', retainMs: DAY });
    for (let ms = 1; ms <= 200; ms++) {
      side.record(200, ms, false, clock());
      window.record(200, ms, false);
    }
    await history.stop();
    const [r] = await readRouteHistory(store, { from: M, until: M });
    const slot = r.minutes[0].legacy;
    assert.deepEqual(slot, window.slotAt(Math.floor(clock() / 1000)));
  });

  it('keeps only the bins in use, in any order of arrival, bin for bin what a window keeps', async () => {
    const clock = () => Date.now();
    const store = new MemoryStore(clock);
    const history = new MinuteHistory({ clock });
    const window = new SlidingWindow({ retainSeconds: 60, clock });
    const side = history.side('r', 'candidate');
    const random = prng(13);
    for (let i = 0; i < 5_000; i++) {
      // Long-tailed, out of order, with the clamped ends (below 10 µs, above 60 s, NaN).
      const u = random();
      const ms = i % 997 === 0 ? [0, -1, Number.NaN, 90_000][i % 4] : 0.005 * Math.exp(u * 16);
      side.record(i % 50 === 0 ? 503 : 200, ms, i % 50 === 0, clock());
      window.record(i % 50 === 0 ? 503 : 200, ms, i % 50 === 0);
    }
    history.start({ sink: store, instance: 'i-1', retainMs: DAY });
    await history.stop();
    const [r] = await readRouteHistory(store, { from: M, until: M });
    const expected = window.slotAt(Math.floor(clock() / 1000));
    assert.ok((expected?.bins.length ?? 0) > 500, 'a wide spread of bins');
    assert.deepEqual(r.minutes[0].candidate, expected);
  });

  it('counts shadow pairs, their top differing fields and both sides’ latency, and breaker openings per side', async () => {
    const clock = () => Date.now();
    const store = new MemoryStore(clock);
    const history = new MinuteHistory({ clock });
    history.side('orders', 'candidate', 'new').record(500, 5, true, clock());
    history.breakerOpened('orders', 'new');
    history.breakerOpened('orders', 'unknown-backend'); // no side: nothing
    const shadow = history.shadow('orders');
    for (let i = 0; i < 10; i++) {
      const fields = i < 3 ? ['$.price', 'header:etag'] : i < 4 ? ['$.price'] : [];
      shadow.pair({
        match: fields.length === 0,
        fields,
        legacyMs: 40,
        candidateMs: 10,
        legacyStatus: 200,
        candidateStatus: 200,
      });
    }
    history.start({ sink: store, instance: 'i-1', retainMs: DAY });
    await history.stop();
    const [orders] = await readRouteHistory(store, { from: M, until: M });
    const m = orders.minutes[0];
    assert.deepEqual(m.breakerOpenings, { legacy: 0, candidate: 1 });
    assert.equal(m.shadow?.compared, 10);
    assert.equal(m.shadow?.mismatched, 4);
    assert.deepEqual(m.shadow?.fields, { '$.price': 4, 'header:etag': 3 });
    assert.equal(requestsOf(m.shadow?.legacy), 10);
    assert.equal(requestsOf(m.shadow?.candidate), 10);
    assert.ok((m.shadow?.legacy?.maxUnits ?? 0) > (m.shadow?.candidate?.maxUnits ?? 0));
  });
});

describe('minute history across instances', () => {
  it('merges the instances’ rows of a minute: counts add, bins merge, instances counted', async () => {
    const store = new MemoryStore();
    const now = Date.now();
    const minute = now - (now % MINUTE_MS);
    const one = new MinuteHistory();
    const two = new MinuteHistory();
    for (let i = 0; i < 5; i++) one.side('api', 'legacy').record(200, 20, false, now);
    for (let i = 0; i < 3; i++) two.side('api', 'legacy').record(404, 80, false, now);
    two.side('api', 'candidate').record(200, 5, false, now);
    one.start({ sink: store, instance: 'i-1', retainMs: DAY });
    two.start({ sink: store, instance: 'i-2', retainMs: DAY });
    await one.stop();
    await two.stop();
    const [api] = await readRouteHistory(store, { from: minute, until: minute, route: 'api' });
    const m = api.minutes[0];
    assert.equal(m.instances, 2);
    assert.deepEqual(m.legacy?.byClass, [0, 5, 0, 3, 0]);
    assert.equal(m.legacy?.bins.length, 2);
    assert.deepEqual([...(m.legacy?.counts ?? [])], [5, 3]);
    assert.equal(m.legacy?.maxUnits, 8000);
    assert.equal(requestsOf(m.candidate), 1);
  });

  it('leaves out rows it cannot read, and says how many', async () => {
    const store = new MemoryStore();
    const now = Date.now();
    const minute = now - (now % MINUTE_MS);
    const base = { route: 'api', minute, instance: 'i-9' };
    await store.writeHistory(
      [
        { ...base, kind: 'route', side: 'legacy', payload: '{"slot":"!!"}' },
        { ...base, kind: 'shadow', side: '', payload: 'not json' },
        { ...base, kind: 'future-kind', side: '', payload: '{}' },
      ],
      DAY,
    );
    const read = await readRouteHistoryCounted(store, { from: minute, until: minute });
    assert.deepEqual(read, { routes: [], rejected: 3 });
  });
});

describe('minute history when the store fails', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.close());

  it('keeps the rows of a failed write and writes them at the next flush', async () => {
    const store = new RedisFleet({ url: redis.url, prefix: 'history', ...PATIENT });
    try {
      const history = new MinuteHistory();
      const errors: string[] = [];
      history.start({
        sink: store,
        instance: 'i-1',
        retainMs: DAY,
        onError: (e) => errors.push(e.constructor.name),
      });
      const now = Date.now();
      const minute = now - (now % MINUTE_MS);
      history.side('api', 'legacy').record(200, 3, false, now);
      await store.ping();
      await redis.stop();
      await history.flush(true);
      assert.equal(history.failures, 1);
      assert.equal(errors.length, 1);
      assert.equal(history.pendingRows, 1);
      await redis.restart();
      await eventually(
        () =>
          store.ping().then(
            () => true,
            () => false,
          ),
        10_000,
      );
      await history.stop();
      assert.equal(history.pendingRows, 0);
      const [api] = await readRouteHistory(store, { from: minute, until: minute });
      assert.equal(requestsOf(api.minutes[0].legacy), 1);
    } finally {
      await store.close();
    }
  });
});
