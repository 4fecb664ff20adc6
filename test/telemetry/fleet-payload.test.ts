// One instance's figures for one second, as published to the fleet store:
// which routes are in it, that the slots and counts come back as they went
// in, and that a malformed payload is refused without a throw.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildFiguresPayload,
  parseFiguresPayload,
  parseFleetPayload,
  type RouteFigureSource,
  SlidingWindow,
} from '../../src/telemetry/index.ts';
import { randomRequests, recordSecond, seeded, T0, T0_SECOND } from '../helpers/random-traffic.ts';

const S = T0_SECOND + 2;

function windows(): { legacy: SlidingWindow; candidate: SlidingWindow } {
  const clock = () => T0 + 3_100;
  return {
    legacy: new SlidingWindow({ retainSeconds: 10, clock }),
    candidate: new SlidingWindow({ retainSeconds: 10, clock }),
  };
}

function source(route: string, fields: Partial<RouteFigureSource> = {}): RouteFigureSource {
  return {
    route,
    legacy: undefined,
    candidate: undefined,
    candidateCount: 0,
    shadow: undefined,
    candidateBreakerOpen: false,
    ...fields,
  };
}

test('a second of every route a rollout reads, its slots and running counts', () => {
  const random = seeded(1);
  const busy = windows();
  recordSecond([busy.legacy], S, randomRequests(random, 200));
  recordSecond([busy.candidate], S, randomRequests(random, 20));
  // Traffic in other seconds is not in this second's payload.
  recordSecond([busy.legacy, busy.candidate], S + 1, randomRequests(random, 5));
  const quiet = windows();
  recordSecond([quiet.legacy], S - 1, randomRequests(random, 5));
  const text = buildFiguresPayload(
    [
      source('busy', {
        ...busy,
        candidateCount: 1234,
        shadow: { compared: 50, mismatched: 3, settled: true },
      }),
      source('quiet', { ...quiet, candidateCount: 7, candidateBreakerOpen: true }),
      source('no-rollout', { candidateCount: 99 }),
    ],
    S,
  );
  assert.ok(text !== undefined);
  const routes = parseFiguresPayload(text);
  assert.ok(routes !== undefined);
  assert.deepEqual(
    [...routes.keys()],
    ['busy', 'quiet'],
    'a route without windows is not published',
  );
  assert.deepEqual(routes.get('busy'), {
    legacy: busy.legacy.slotAt(S),
    candidate: busy.candidate.slotAt(S),
    candidateCount: 1234,
    shadow: { compared: 50, mismatched: 3, settled: true },
    candidateBreakerOpen: false,
  });
  assert.deepEqual(
    routes.get('quiet'),
    {
      legacy: undefined,
      candidate: undefined,
      candidateCount: 7,
      shadow: undefined,
      candidateBreakerOpen: true,
    },
    'a route with windows but no request that second still carries its counts',
  );
});

test('nothing to publish when no route has a window on', () => {
  assert.equal(buildFiguresPayload([source('a', { candidateCount: 5 })], S), undefined);
  assert.equal(buildFiguresPayload([], S), undefined);
});

test('route names are keys like any other: __proto__, quotes, non-ASCII', () => {
  const names = ['__proto__', 'constructor', 'a"b\\c', 'ünï/cødé', ''];
  const text = buildFiguresPayload(
    names.map((route, i) => source(route, { ...windows(), candidateCount: i })),
    S,
  )!;
  const routes = parseFiguresPayload(text)!;
  assert.deepEqual(
    [...routes].map(([name, r]) => [name, r.candidateCount]),
    names.map((name, i) => [name, i]),
  );
});

test('fields a later version adds are ignored', () => {
  const routes = parseFiguresPayload(
    JSON.stringify({ v: 1, extra: 1, routes: { r: { n: 3, weight: 50 } } }),
  );
  assert.equal(routes?.get('r')?.candidateCount, 3);
});

test('a malformed payload is refused as a whole, never thrown', () => {
  const w = windows();
  w.legacy.record(200, 5, false, S * 1000);
  const good = JSON.parse(
    buildFiguresPayload(
      [
        source('r', {
          ...w,
          candidateCount: 1,
          shadow: { compared: 2, mismatched: 1, settled: false },
          candidateBreakerOpen: true,
        }),
      ],
      S,
    )!,
  );
  assert.deepEqual(good, { v: 1, routes: { r: { n: 1, l: good.routes.r.l, s: [2, 1, 0], o: 1 } } });
  const slot = good.routes.r.l as string;
  const withRoute = (r: unknown) =>
    JSON.stringify({ v: 1, routes: { ok: { n: 1, l: slot }, bad: r } });
  const bad: Record<string, string> = {
    'not JSON': '{"v":1,',
    'empty text': '',
    'JSON null': 'null',
    'a number': '1',
    'an array': '[1]',
    'another version': JSON.stringify({ ...good, v: 2 }),
    'no version': JSON.stringify({ routes: good.routes }),
    'routes missing': JSON.stringify({ v: 1 }),
    'routes an array': JSON.stringify({ v: 1, routes: [] }),
    'a route that is not an object': withRoute(5),
    'a route that is null': withRoute(null),
    'no candidate count': withRoute({}),
    'a negative candidate count': withRoute({ n: -1 }),
    'a fractional candidate count': withRoute({ n: 1.5 }),
    'a candidate count as text': withRoute({ n: '1' }),
    'a slot that is not text': withRoute({ n: 1, l: 5 }),
    'a slot that does not decode': withRoute({ n: 1, c: 'AAAA' }),
    'a slot cut short': withRoute({ n: 1, l: slot.slice(0, -2) }),
    'shadow not an array': withRoute({ n: 1, s: { compared: 1, mismatched: 0, settled: true } }),
    'shadow too short': withRoute({ n: 1, s: [1, 0] }),
    'more mismatched than compared': withRoute({ n: 1, s: [1, 2, 1] }),
    'settled not 0 or 1': withRoute({ n: 1, s: [1, 0, true] }),
    'breaker state not 1': withRoute({ n: 1, o: true }),
  };
  assert.ok(parseFiguresPayload(JSON.stringify(good)), 'the payload they are made from is valid');
  for (const [name, text] of Object.entries(bad)) {
    assert.equal(parseFiguresPayload(text), undefined, name);
  }
  for (const notText of [undefined, null, 7, {}]) {
    assert.equal(parseFiguresPayload(notText as unknown as string), undefined);
  }
});

test("the dashboard's extras: every route's series, shadow pairs and events of the second", () => {
  const w = windows();
  w.legacy.record(200, 5, false, S * 1000);
  const series = new Map([
    ['r', { legacy: [3, 1, 2, 2, 13, 1], shadow: [10, 2] as const }],
    ['quiet', {}],
    ['no-window', { candidate: [1, 0, 4, 1] }],
  ]);
  const breaker = { backend: 'b', route: 'r', from: 'closed', to: 'open', reason: 'x', at: 5 };
  const note = { route: 'r', kind: 'note', reason: 'weight set by hand' };
  const text = buildFiguresPayload([source('r', { ...w, candidateCount: 1 })], S, {
    series,
    events: { breakers: [breaker], notes: [note] },
  })!;
  const parsed = parseFleetPayload(text)!;
  assert.deepEqual(
    [...parsed.routes.keys()],
    ['r'],
    'the gates still read the windowed routes only',
  );
  assert.deepEqual(parsed.series, series);
  assert.deepEqual(parsed.events, { breakers: [breaker], notes: [note] });
  // Nothing to say but "I am here": still published, so the others count this instance.
  const empty = buildFiguresPayload([], S, { series: new Map() })!;
  assert.deepEqual(parseFleetPayload(empty), { routes: new Map(), series: new Map() });
  assert.equal(buildFiguresPayload([], S, { events: { breakers: [], notes: [] } }), undefined);
});

test('a malformed extra is left out; the routes the gates read are kept', () => {
  const routes = { r: { n: 4 } };
  const bad: Record<string, unknown> = {
    'series not an object': { q: [1] },
    'a side not an array': { q: { r: { l: 5 } } },
    'a side of odd length': { q: { r: { l: [3, 0, 1] } } },
    'more errors than requests': { q: { r: { l: [1, 2] } } },
    'a bucket past +Inf': { q: { r: { l: [1, 0, 14, 1] } } },
    'a negative count': { q: { r: { c: [1, 0, 2, -1] } } },
    'shadow of three numbers': { q: { r: { m: [1, 0, 1] } } },
    'more mismatched pairs than compared': { q: { r: { m: [1, 2] } } },
    'events not an object': { e: 'x' },
    'a breaker event without its backend': { e: { b: [{ route: 'r', at: 1 }] } },
    'a note without a route': { e: { n: [{ kind: 'note' }] } },
  };
  for (const [name, extra] of Object.entries(bad)) {
    const parsed = parseFleetPayload(JSON.stringify({ v: 1, routes, ...(extra as object) }));
    assert.ok(parsed, name);
    assert.equal(parsed.routes.get('r')?.candidateCount, 4, name);
    assert.equal(parsed.series === undefined && parsed.events === undefined, true, name);
  }
});
