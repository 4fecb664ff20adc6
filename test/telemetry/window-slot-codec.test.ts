// A second of a window, encoded for the fleet store and decoded on the
// leader, must merge to exactly what the window itself reports: checked over
// seeded random traffic, every figure compared for equality, not closeness.
// Malformed text (truncated, altered, forged) is refused without a throw.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeWindowSlot,
  encodeWindowSlot,
  FleetWindow,
  SlidingWindow,
  type WindowSlot,
} from '../../src/telemetry/index.ts';
import { latencyBinIndex } from '../../src/telemetry/windows.ts';
import { randomRequests, recordSecond, seeded, T0, T0_SECOND } from '../helpers/random-traffic.ts';

const SECONDS = 20;
const NOW = T0 + SECONDS * 1000 + 300;

/** A window with SECONDS seconds of random traffic (some seconds empty), clock at NOW. */
function randomWindow(seed: number, maxPerSecond: number): SlidingWindow {
  const random = seeded(seed);
  const window = new SlidingWindow({ retainSeconds: SECONDS + 5, clock: () => NOW });
  for (let s = 0; s < SECONDS; s++) {
    const n = random() < 0.15 ? 0 : Math.floor(random() * maxPerSecond) + 1;
    recordSecond([window], T0_SECOND + s, randomRequests(random, n));
  }
  return window;
}

/** Varint bytes as base64url, to forge slots. */
function forge(...numbers: number[]): string {
  const bytes: number[] = [];
  for (let v of numbers) {
    while (v >= 0x80) {
      bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    bytes.push(v);
  }
  return Buffer.from(bytes).toString('base64url');
}

test('decode(encode(slot)) is the slot, for every second of random windows', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const window = randomWindow(seed, seed * 200);
    let seen = 0;
    for (let s = 0; s < SECONDS; s++) {
      const slot = window.slotAt(T0_SECOND + s);
      if (slot === undefined) continue;
      seen++;
      const text = encodeWindowSlot(slot);
      assert.match(text, /^[A-Za-z0-9_-]+$/, 'base64url: nothing to escape in JSON');
      assert.deepEqual(decodeWindowSlot(text), slot, `seed ${seed}, second ${s}`);
    }
    assert.ok(seen > SECONDS / 2, 'most seconds had traffic');
  }
});

test('the decoded seconds merge to exactly the window snapshot: counts, percentiles, max, countAbove', () => {
  for (const seed of [11, 12, 13, 14, 15, 16]) {
    const window = randomWindow(seed, 500);
    const fleet = new FleetWindow({ retainSeconds: SECONDS + 5, clock: () => NOW });
    for (let s = 0; s < SECONDS; s++) {
      const slot = window.slotAt(T0_SECOND + s);
      if (slot !== undefined)
        fleet.add('one', T0_SECOND + s, decodeWindowSlot(encodeWindowSlot(slot))!);
    }
    for (const since of [T0, T0 + 999, T0 + 5_000, T0 + 17_250, NOW, NOW + 5_000]) {
      const expected = window.snapshot(since);
      assert.deepEqual(fleet.snapshot(since), expected, `seed ${seed}, since +${since - T0} ms`);
      for (const ms of [0, 0.01, 1, 10, 25.5, 100, 800, 1999, 59_999, 60_000]) {
        assert.equal(fleet.countAbove(ms), window.countAbove(ms), `countAbove(${ms})`);
      }
    }
  }
});

test('a slot is only read for a second the window holds', () => {
  const window = randomWindow(7, 50);
  assert.equal(window.slotAt(T0_SECOND + SECONDS), undefined, 'nothing recorded in that second');
  assert.equal(window.slotAt(T0_SECOND - 1000), undefined, 'a second the ring never held');
});

test('a slot is a copy: recording afterwards does not change it', () => {
  const window = new SlidingWindow({ retainSeconds: 3, clock: () => T0 });
  window.record(200, 5, false, T0);
  const slot = window.slotAt(T0_SECOND)!;
  window.record(500, 50, true, T0 + 10);
  assert.deepEqual(slot.byClass, [0, 1, 0, 0, 0]);
  assert.equal(slot.maxUnits, 500);
  assert.equal(window.slotAt(T0_SECOND)!.byClass[4], 1);
});

test('every truncation of a valid slot is refused', () => {
  const window = randomWindow(21, 300);
  const text = encodeWindowSlot(window.slotAt(T0_SECOND + 3)!);
  for (let length = 0; length < text.length; length++) {
    assert.equal(decodeWindowSlot(text.slice(0, length)), undefined, `cut at ${length}`);
  }
});

test('altered or forged slots are refused, never thrown', () => {
  // One 2xx request of 5 ms (500 units): one run of one bin.
  const bin = latencyBinIndex(500);
  const slot = decodeWindowSlot(forge(0, 1, 0, 0, 0, 500, bin, 1, 1));
  assert.ok(slot, 'the forged reference slot is valid');
  assert.deepEqual([...slot.bins], [bin]);
  assert.deepEqual([...slot.counts], [1]);
  const bad: Record<string, string> = {
    empty: '',
    'bin 0 holds no latency': forge(0, 1, 0, 0, 0, 1, 0, 1, 1),
    'not base64url': 'AAAA+/==',
    'json text': '{"a":1}',
    'a length no base64 text has': 'AAAAA',
    'no requests': forge(0, 0, 0, 0, 0, 500),
    'bins hold fewer requests than the classes': forge(0, 2, 0, 0, 0, 500, bin, 1, 1),
    'bins hold more requests than the classes': forge(0, 1, 0, 0, 0, 500, bin, 1, 2),
    'max not in the top bin': forge(0, 1, 0, 0, 0, 900, bin, 1, 1),
    'max above 60 s': forge(0, 1, 0, 0, 0, 6_000_001, 2103, 1, 1),
    'max of 0': forge(0, 1, 0, 0, 0, 0, 1, 1, 1),
    'a bin past the last': forge(0, 1, 0, 0, 0, 500, 2104, 1, 1),
    'a run of no bins': forge(0, 1, 0, 0, 0, 500, bin, 0, 0, 1, 1),
    'a zero count': forge(0, 1, 0, 0, 0, 500, bin - 1, 2, 0, 1),
    'a run cut short': forge(0, 1, 0, 0, 0, 500, bin, 2, 1),
    'a varint past 2^53': Buffer.from([
      0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ]).toString('base64url'),
    'much too long': 'A'.repeat(40_000),
  };
  for (const [name, text] of Object.entries(bad)) {
    assert.equal(decodeWindowSlot(text), undefined, name);
  }
  for (const notText of [undefined, null, 42, {}, ['AAAA']]) {
    assert.equal(decodeWindowSlot(notText as unknown as string), undefined);
  }
});

test('random bytes are refused or decode to a consistent slot, never a throw', () => {
  const random = seeded(99);
  for (let i = 0; i < 2000; i++) {
    const bytes = Buffer.alloc(1 + Math.floor(random() * 40));
    for (let b = 0; b < bytes.length; b++) bytes[b] = Math.floor(random() * 256);
    const slot: WindowSlot | undefined = decodeWindowSlot(bytes.toString('base64url'));
    if (slot === undefined) continue;
    const requests = slot.byClass.reduce((a, b) => a + b, 0);
    assert.equal(
      slot.counts.reduce((a, b) => a + b, 0),
      requests,
    );
  }
});
