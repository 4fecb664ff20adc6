// The fleet's view of one route × side: the published seconds of several
// instances, merged, must read exactly as one window that recorded all their
// requests. Instances are SlidingWindows fed seeded random traffic; a
// "combined" window records the same requests at the same times.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeWindowSlot,
  encodeWindowSlot,
  FleetWindow,
  SlidingWindow,
} from '../../src/telemetry/index.ts';
import { randomRequests, recordSecond, seeded, T0, T0_SECOND } from '../helpers/random-traffic.ts';

const RETAIN = 30;
const SIDES = ['a', 'b', 'c'] as const;

interface Fleet {
  /** One window per instance, and one that recorded everything. */
  readonly instances: Record<(typeof SIDES)[number], SlidingWindow>;
  readonly combined: SlidingWindow;
  /** The fleet view; `publish` adds seconds to it as the store would hand them over. */
  readonly view: FleetWindow;
  at(ms: number): void;
}

/** `seconds` seconds of random traffic on 3 instances (each its own rate), and an empty view. */
function fleet(seed: number, seconds: number, options: { local?: string } = {}): Fleet {
  let now = T0;
  const clock = () => now;
  const random = seeded(seed);
  const make = () => new SlidingWindow({ retainSeconds: RETAIN, clock });
  const instances = { a: make(), b: make(), c: make() };
  const combined = make();
  for (let s = 0; s < seconds; s++) {
    for (const [i, name] of SIDES.entries()) {
      const n = random() < 0.1 ? 0 : Math.floor(random() * 100 * (i + 1));
      recordSecond([instances[name], combined], T0_SECOND + s, randomRequests(random, n));
    }
  }
  const view = new FleetWindow({ retainSeconds: RETAIN, clock, localInstance: options.local });
  return {
    instances,
    combined,
    view,
    at(ms) {
      now = T0 + ms;
    },
  };
}

/** Adds second `s` (after T0) of each named instance to the view, through encode and decode. */
function publish(f: Fleet, s: number, names: readonly (typeof SIDES)[number][] = SIDES): void {
  for (const name of names) {
    const slot = f.instances[name].slotAt(T0_SECOND + s);
    if (slot !== undefined) {
      f.view.add(name, T0_SECOND + s, decodeWindowSlot(encodeWindowSlot(slot))!);
    }
  }
}

function assertSame(view: FleetWindow, window: SlidingWindow, since: number, what: string): void {
  assert.deepEqual(view.snapshot(since), window.snapshot(since), what);
  for (const ms of [0, 1, 5, 20, 49.99, 50, 250, 800, 2000, 59_999]) {
    assert.equal(view.countAbove(ms), window.countAbove(ms), `${what}: countAbove(${ms})`);
  }
}

test('3 instances merged read exactly as one window that recorded all their requests', () => {
  for (const seed of [1, 2, 3, 4]) {
    const f = fleet(seed, 25);
    for (let s = 0; s < 25; s++) publish(f, s);
    f.at(25_400);
    for (const since of [T0, T0 + 1_000, T0 + 12_345, T0 + 24_999, T0 + 25_000]) {
      assertSame(f.view, f.combined, since, `seed ${seed}, since +${since - T0} ms`);
    }
    const snap = f.view.snapshot(T0);
    assert.ok(snap.requests > 1000 && snap.errors > 0 && snap.p99 > snap.p50, 'real traffic');
  }
});

test('an instance whose seconds are missing is missing from the figures, and only it', () => {
  const f = fleet(5, 10);
  for (let s = 0; s < 10; s++) publish(f, s, ['a', 'b']);
  f.at(10_000);
  const merged = f.view.snapshot(T0);
  const [a, b, c] = SIDES.map((n) => f.instances[n].snapshot(T0).requests);
  assert.equal(merged.requests, a + b);
  assert.equal(f.combined.snapshot(T0).requests, a + b + c);
  publish(f, 9, ['c']);
  assert.equal(
    f.view.snapshot(T0).requests,
    a + b + f.instances.c.slotAt(T0_SECOND + 9)!.byClass.reduce((x, y) => x + y),
  );
});

test('a second added again for the same instance replaces it instead of counting twice', () => {
  const f = fleet(6, 5);
  for (let s = 0; s < 5; s++) publish(f, s);
  for (let s = 0; s < 5; s++) publish(f, s);
  f.at(5_000);
  assertSame(f.view, f.combined, T0, 'published twice');
});

test('forget drops every second of an instance', () => {
  const f = fleet(7, 5);
  for (let s = 0; s < 5; s++) publish(f, s);
  f.view.forget('b');
  f.at(5_000);
  const a = f.instances.a.snapshot(T0).requests;
  const c = f.instances.c.snapshot(T0).requests;
  assert.equal(f.view.snapshot(T0).requests, a + c);
});

test('the local live window: its current second is merged, its stored copy never counted twice', () => {
  const f = fleet(8, 12, { local: 'a' });
  // The store has every second up to 9 of b and c, and up to 8 of a (9 was not published yet).
  for (let s = 0; s < 10; s++) publish(f, s, ['b', 'c']);
  for (let s = 0; s < 9; s++) publish(f, s, ['a']);
  // Seconds 10 and 11 are not published by anyone; now is inside second 11.
  f.at(11_700);
  f.view.setLive(f.instances.a);
  // Expected: all of a (live, seconds 9..11 included), b and c up to second 9. The same seed
  // replays the same traffic into a fresh view, where a is published in full instead.
  const replay = fleet(8, 12);
  for (let s = 0; s < 10; s++) publish(replay, s, ['b', 'c']);
  for (let s = 0; s < 12; s++) publish(replay, s, ['a']);
  replay.at(11_700);
  for (const since of [T0, T0 + 9_000, T0 + 11_000]) {
    assert.deepEqual(f.view.snapshot(since), replay.view.snapshot(since), `since +${since - T0}`);
  }
  assert.ok(f.instances.a.slotAt(T0_SECOND + 11), 'the live current second had requests');
});

test('stored seconds of the local instance count once the live window no longer holds them', () => {
  const f = fleet(9, 4, { local: 'a' });
  for (let s = 0; s < 4; s++) publish(f, s);
  // A live window that was turned on later: it holds nothing of seconds 0..3.
  const late = new SlidingWindow({ retainSeconds: RETAIN, clock: () => T0 + 4_500 });
  f.view.setLive(late);
  f.at(4_500);
  assertSame(f.view, f.combined, T0, 'stored copies used');
  late.record(200, 3, false, T0 + 4_100);
  f.combined.record(200, 3, false, T0 + 4_100);
  assertSame(f.view, f.combined, T0, 'plus the live current second');
});

test('seconds older than retainSeconds are dropped; seconds after now wait for the clock', () => {
  const f = fleet(10, 3);
  for (let s = 0; s < 3; s++) publish(f, s);
  f.at(2_500);
  const all = f.view.snapshot(T0).requests;
  // An instance whose clock runs 5 s ahead published "second 7".
  const ahead = new SlidingWindow({ retainSeconds: RETAIN, clock: () => T0 });
  ahead.record(200, 1, false, T0 + 7_000);
  f.view.add('d', T0_SECOND + 7, ahead.slotAt(T0_SECOND + 7)!);
  assert.equal(f.view.snapshot(T0).requests, all, 'not yet');
  f.at(7_000);
  assert.equal(f.view.snapshot(T0).requests, all + 1, 'once the clock is there');
  f.at((RETAIN + 5) * 1000);
  assert.equal(f.view.snapshot(T0).requests, 1, 'seconds 0..2 are out of the retained span');
  assert.deepEqual(f.view.heldSeconds(), [T0_SECOND + 7]);
});

test('an empty view reads as an empty window; countAbove before any snapshot is 0', () => {
  const view = new FleetWindow({ retainSeconds: 5, clock: () => T0 });
  assert.equal(view.countAbove(1), 0);
  assert.deepEqual(
    view.snapshot(T0 - 10_000),
    new SlidingWindow({ retainSeconds: 5, clock: () => T0 }).snapshot(T0 - 10_000),
  );
  assert.throws(() => new FleetWindow({ retainSeconds: 0 }), RangeError);
});
