// The leader's merge of every instance's published seconds: three instances
// publish payloads built from their own windows, the leader ingests them as
// the store hands them over, and a route's figures must read as one window
// that served all the traffic, in the shape the rollout controller reads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RouteFigures } from '../../src/rollout/index.ts';
import { figuresOf } from '../../src/rollout/target.ts';
import {
  buildFiguresPayload,
  FleetFigures,
  type PublishedFigures,
  type RouteFigureSource,
  type ShadowCounts,
  SlidingWindow,
} from '../../src/telemetry/index.ts';
import { randomRequests, recordSecond, seeded, T0, T0_SECOND } from '../helpers/random-traffic.ts';

const RETAIN = 30;
const NAMES = ['a', 'b', 'c'] as const;
type Name = (typeof NAMES)[number];

interface Side {
  legacy: SlidingWindow;
  candidate: SlidingWindow;
}

/** A small fleet on one hand-moved clock: 3 instances' windows and one "combined" that saw it all. */
function fleetOf(seed: number) {
  let now = T0;
  const clock = () => now;
  const make = (): Side => ({
    legacy: new SlidingWindow({ retainSeconds: RETAIN, clock }),
    candidate: new SlidingWindow({ retainSeconds: RETAIN, clock }),
  });
  const instances: Record<Name, Side> = { a: make(), b: make(), c: make() };
  const combined = make();
  const candidateCount: Record<Name, number> = { a: 0, b: 0, c: 0 };
  const random = seeded(seed);
  return {
    instances,
    combined,
    candidateCount,
    clock,
    at(ms: number) {
      now = T0 + ms;
    },
    /** Random traffic in second `s` after T0 on the instances named. */
    traffic(s: number, names: readonly Name[] = NAMES) {
      for (const [i, name] of NAMES.entries()) {
        if (!names.includes(name)) continue;
        const legacy = randomRequests(random, Math.floor(random() * 80 * (i + 1)));
        const candidate = randomRequests(random, Math.floor(random() * 20 * (i + 1)));
        recordSecond([instances[name].legacy, combined.legacy], T0_SECOND + s, legacy);
        recordSecond([instances[name].candidate, combined.candidate], T0_SECOND + s, candidate);
        candidateCount[name] += candidate.length;
      }
    },
    source(name: Name, fields: Partial<RouteFigureSource> = {}): RouteFigureSource {
      return {
        route: 'r',
        ...instances[name],
        candidateCount: candidateCount[name],
        shadow: undefined,
        candidateBreakerOpen: false,
        ...fields,
      };
    },
    /** What `name` publishes for second `s` after T0. */
    publish(name: Name, s: number, fields: Partial<RouteFigureSource> = {}): PublishedFigures {
      const payload = buildFiguresPayload([this.source(name, fields)], T0_SECOND + s);
      assert.ok(payload !== undefined);
      return { instance: name, second: T0_SECOND + s, payload };
    },
  };
}

test('the fleet figures of a route read as one window that served every instance', () => {
  for (const seed of [1, 2, 3]) {
    const f = fleetOf(seed);
    const published: PublishedFigures[] = [];
    for (let s = 0; s < 20; s++) {
      f.traffic(s);
      for (const name of NAMES) published.push(f.publish(name, s));
    }
    f.at(20_100);
    const fleet = new FleetFigures({ localInstance: 'x', retainSeconds: RETAIN, clock: f.clock });
    assert.deepEqual(fleet.ingest(published), { accepted: 60, rejected: 0 });
    const figures = fleet.route('r');
    assert.ok(figures !== undefined);
    for (const since of [T0, T0 + 7_000, T0 + 19_000]) {
      assert.deepEqual(figures.legacy.snapshot(since), f.combined.legacy.snapshot(since));
      assert.deepEqual(figures.candidate.snapshot(since), f.combined.candidate.snapshot(since));
      assert.equal(figures.candidate.countAbove(800), f.combined.candidate.countAbove(800));
    }
    assert.equal(
      figures.candidateCount,
      f.candidateCount.a + f.candidateCount.b + f.candidateCount.c,
    );
    assert.equal(figures.shadow, undefined);
    assert.equal(figures.candidateBreakerOpen, false);
    // The rollout controller reads it as it reads one gateway's route.
    const asRollout: RouteFigures = figures;
    const gate = figuresOf(asRollout.candidate, T0);
    const one = figuresOf(f.combined.candidate, T0);
    assert.deepEqual(
      [gate.requests, gate.errors, gate.p95, gate.p99],
      [one.requests, one.errors, one.p95, one.p99],
    );
    assert.equal(gate.countAbove(100), one.countAbove(100));
  }
});

test('the leader reads its own current second live, and no second twice', () => {
  const f = fleetOf(4);
  const published: PublishedFigures[] = [];
  for (let s = 0; s < 5; s++) {
    f.traffic(s);
    for (const name of NAMES) published.push(f.publish(name, s));
  }
  // Second 5 is the current one: only the leader (a) has had traffic in it yet.
  f.traffic(5, ['a']);
  f.at(5_600);
  const fleet = new FleetFigures({ localInstance: 'a', retainSeconds: RETAIN, clock: f.clock });
  fleet.ingest(published);
  const figures = fleet.route('r', f.source('a'))!;
  assert.ok(f.instances.a.legacy.slotAt(T0_SECOND + 5), 'a had traffic in the current second');
  for (const since of [T0, T0 + 5_000]) {
    assert.deepEqual(figures.legacy.snapshot(since), f.combined.legacy.snapshot(since));
    assert.deepEqual(figures.candidate.snapshot(since), f.combined.candidate.snapshot(since));
  }
  assert.equal(
    figures.candidateCount,
    f.candidateCount.a + f.candidateCount.b + f.candidateCount.c,
  );
  // a's second 5 comes back from the store: still counted once.
  f.at(6_050);
  fleet.ingest([f.publish('a', 5)]);
  const again = fleet.route('r', f.source('a'))!;
  assert.deepEqual(again.legacy.snapshot(T0), f.combined.legacy.snapshot(T0));
  assert.equal(again.candidateCount, figures.candidateCount);
});

test('a payload is taken once per instance and second; a malformed one is counted once', () => {
  const f = fleetOf(5);
  f.traffic(0);
  const batch = [f.publish('a', 0), f.publish('b', 0)];
  const broken = { instance: 'c', second: T0_SECOND, payload: '{"v":1,"routes":{"r":{}}}' };
  f.at(1_000);
  const fleet = new FleetFigures({ localInstance: 'x', retainSeconds: RETAIN, clock: f.clock });
  assert.deepEqual(fleet.ingest([...batch, broken]), { accepted: 2, rejected: 1 });
  const before = fleet.route('r')!.legacy.snapshot(T0);
  // The leader reads overlapping spans: the same slots come again.
  assert.deepEqual(fleet.ingest([...batch, broken]), { accepted: 0, rejected: 0 });
  assert.deepEqual(fleet.route('r')!.legacy.snapshot(T0), before);
  assert.equal(
    before.requests,
    f.instances.a.legacy.snapshot(T0).requests + f.instances.b.legacy.snapshot(T0).requests,
  );
  // Seconds older than the retained span are not taken at all.
  f.at((RETAIN + 2) * 1000);
  assert.deepEqual(fleet.ingest([f.publish('c', 0)]), { accepted: 0, rejected: 0 });
  assert.equal(fleet.route('nobody'), undefined);
});

test('the candidate count only grows: late seconds, instances leaving and joining', () => {
  const f = fleetOf(6);
  const fleet = new FleetFigures({ localInstance: 'x', retainSeconds: RETAIN, clock: f.clock });
  const take = (name: Name, s: number, candidateCount: number) =>
    fleet.ingest([f.publish(name, s, { candidateCount })]);
  take('a', 0, 100);
  take('b', 0, 50);
  assert.equal(fleet.route('r')!.candidateCount, 150);
  const base = fleet.route('r')!.candidateCount;
  take('a', 2, 130);
  take('a', 1, 110); // second 1 arrives after second 2: it adds nothing
  assert.equal(fleet.route('r')!.candidateCount - base, 30);
  fleet.forget('b'); // b's 50 requests were served: they stay counted
  assert.equal(fleet.route('r')!.candidateCount - base, 30);
  take('c', 2, 40); // a new instance: all its requests are new
  assert.equal(fleet.route('r')!.candidateCount - base, 70);
});

test('shadow pairs: summed over instances, `since` subtracted instance by instance', () => {
  const f = fleetOf(7);
  const fleet = new FleetFigures({ localInstance: 'x', retainSeconds: RETAIN, clock: f.clock });
  const take = (name: Name, s: number, shadow: ShadowCounts) =>
    fleet.ingest([f.publish(name, s, { shadow })]);
  take('a', 0, { compared: 100, mismatched: 10, settled: true });
  take('b', 0, { compared: 40, mismatched: 0, settled: true });
  const base = fleet.route('r')!.shadow!;
  assert.deepEqual([base.compared, base.mismatched, base.settled], [140, 10, true]);
  take('a', 1, { compared: 150, mismatched: 12, settled: true });
  // Noise learned on b: its earlier mismatches are cleared, and it is not settled yet.
  take('b', 1, { compared: 60, mismatched: 0, settled: false });
  take('c', 1, { compared: 30, mismatched: 3, settled: true });
  const now = fleet.route('r')!.shadow!;
  assert.equal(now.settled, false, 'one unsettled instance makes the fleet wait');
  const since = now.since(base);
  assert.deepEqual([since.compared, since.mismatched], [50 + 20 + 30, 2 + 0 + 3]);
  // A tally that is not this fleet view's: every pair is new.
  const foreign = { compared: 1, mismatched: 1, settled: true };
  assert.equal(now.since(foreign), now);
  // An older reading (fewer pairs) arriving late is not taken.
  take('a', 0, { compared: 120, mismatched: 99, settled: true });
  assert.equal(fleet.route('r')!.shadow!.mismatched, 15);
});

test('the candidate breaker is open when any instance last said so', () => {
  const f = fleetOf(8);
  const fleet = new FleetFigures({ localInstance: 'x', retainSeconds: RETAIN, clock: f.clock });
  const take = (name: Name, s: number, open: boolean) =>
    fleet.ingest([f.publish(name, s, { candidateBreakerOpen: open })]);
  take('a', 0, false);
  take('b', 0, false);
  assert.equal(fleet.route('r')!.candidateBreakerOpen, false);
  take('b', 1, true);
  assert.equal(fleet.route('r')!.candidateBreakerOpen, true);
  take('b', 2, false);
  assert.equal(fleet.route('r')!.candidateBreakerOpen, false, 'closed again');
  take('c', 3, true);
  fleet.forget('c');
  assert.equal(fleet.route('r')!.candidateBreakerOpen, false, 'a silent instance says nothing');
  take('a', 3, true);
  f.at(6_999);
  assert.equal(fleet.route('r')!.candidateBreakerOpen, true, 'a word 3 s old still counts');
  f.at(7_000);
  assert.equal(
    fleet.route('r')!.candidateBreakerOpen,
    false,
    'a word older than that does not: the instance stopped publishing the route',
  );
  assert.equal(
    fleet.route('r', f.source('a', { candidateBreakerOpen: true }))!.candidateBreakerOpen,
    true,
    "this instance's live state",
  );
});

test('forget drops an instance from the windows; dropRoute drops the route', () => {
  const f = fleetOf(9);
  f.traffic(0);
  f.at(1_000);
  const fleet = new FleetFigures({ localInstance: 'x', retainSeconds: RETAIN, clock: f.clock });
  fleet.ingest(NAMES.map((name) => f.publish(name, 0)));
  fleet.forget('b');
  const requests = (side: Side) => side.legacy.snapshot(T0).requests;
  assert.equal(
    fleet.route('r')!.legacy.snapshot(T0).requests,
    requests(f.instances.a) + requests(f.instances.c),
  );
  // Read again from the store, b's old seconds do not bring it back.
  fleet.ingest([f.publish('b', 0)]);
  assert.equal(
    fleet.route('r')!.legacy.snapshot(T0).requests,
    requests(f.instances.a) + requests(f.instances.c),
  );
  fleet.dropRoute('r');
  assert.equal(fleet.route('r'), undefined);
});
