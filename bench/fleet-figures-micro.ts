// Fleet figures (issue 11) in isolation: how many bytes one instance
// publishes a second for 1, 100 and 1,000 routes under a rollout, and the CPU
// the publishing and merging take each second:
// - publish: buildFiguresPayload for one second (slotAt + encode + JSON), on
//   every instance;
// - parse: parseFiguresPayload of that payload (JSON + decode), on the leader,
//   once per instance;
// - leader check: FleetFigures.ingest of 3 instances' seconds, then a
//   snapshot of every route's two sides over a 30 s window (what the gates
//   read each second), steady state (one new second per instance).
// Traffic: seeded, the long-tailed latency mix of windows-micro.ts, two
// profiles: each route at RATE req/s (legacy, candidate at CANARY % of it),
// and TOTAL req/s per instance spread over all routes.
// RATE=200 TOTAL=2000 ROUNDS=7 node bench/fleet-figures-micro.ts
import {
  buildFiguresPayload,
  FleetFigures,
  type PublishedFigures,
  parseFiguresPayload,
  type RouteFigureSource,
  SlidingWindow,
} from '../src/telemetry/index.ts';

const RATE = Number(process.env.RATE ?? 200);
const TOTAL = Number(process.env.TOTAL ?? 2000);
const CANARY = Number(process.env.CANARY ?? 10);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const WINDOW = 30;
const INSTANCES = 3;

/** 2026-01-01T00:00:00Z, plus the seconds of history the leader merges over. */
const T0 = 1_767_225_600_000;
const NOW = T0 + (WINDOW + 1) * 1000 + 200;
const clock = () => NOW;

/** Latencies from a long-tailed mix (92% 2–22 ms, 8% 250 ms–1.85 s), as windows-micro.ts. */
const LATENCIES = new Float64Array(4096);
for (let i = 0; i < LATENCIES.length; i++) {
  const u = ((i * 2654435761) >>> 0) / 4294967296;
  LATENCIES[i] = u < 0.92 ? 2 + u * 20 : 250 + (u - 0.92) * 20_000;
}
const STATUSES = new Int32Array([200, 200, 200, 201, 204, 304, 404, 200, 200, 500]);

/** An instance's route sources with `seconds` seconds of traffic at `perSecond` legacy req/s each. */
function instance(seed: number, routes: number, perSecond: number, seconds: number) {
  let k = seed * 7919;
  const fill = (window: SlidingWindow, second: number, n: number) => {
    // Fractional rates: a route at 0.5 req/s gets a request every other second.
    const count = Math.floor(n) + ((second * 31 + seed) % 100 < (n % 1) * 100 ? 1 : 0);
    for (let i = 0; i < count; i++) {
      k = (k + 1) >>> 0;
      const status = STATUSES[k % 10];
      window.record(
        status,
        LATENCIES[(k * 2654435761) & 4095],
        status >= 500,
        second * 1000 + (i % 1000),
      );
    }
  };
  const sources: RouteFigureSource[] = [];
  for (let r = 0; r < routes; r++) {
    const legacy = new SlidingWindow({ retainSeconds: WINDOW + 1, clock });
    const candidate = new SlidingWindow({ retainSeconds: WINDOW + 1, clock });
    const first = Math.floor(NOW / 1000) - seconds;
    for (let s = first; s < first + seconds; s++) {
      fill(legacy, s, perSecond);
      fill(candidate, s, (perSecond * CANARY) / 100);
    }
    sources.push({
      route: `route-${r}/api/v1/things`,
      legacy,
      candidate,
      candidateCount: 123_456,
      shadow: { compared: 5000, mismatched: 12, settled: true },
      candidateBreakerOpen: false,
    });
  }
  return sources;
}

const lastSecond = Math.floor(NOW / 1000) - 1;

/**
 * Best and median wall time of `fn` in µs over ROUNDS, after a warm-up (one
 * thread: wall ≈ CPU). On a shared machine the best is the cost; the median
 * says how much other work got in the way.
 */
function time(fn: () => unknown, repeat = 1): { best: number; median: number } {
  for (let i = 0; i < repeat; i++) fn();
  const us: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < repeat; i++) fn();
    us.push(Number(process.hrtime.bigint() - start) / 1000 / repeat);
  }
  us.sort((a, b) => a - b);
  return { best: us[0], median: us[Math.floor(us.length / 2)] };
}

const fmt = (t: { best: number; median: number }, scale = 1, digits = 0): string =>
  `${(t.best / scale).toFixed(digits)} (${(t.median / scale).toFixed(digits)})`;

/** The same payload with the parsed form's names as keys: what one-letter keys save. */
function withLongKeys(payload: string): string {
  return payload
    .replace(/"l":/g, '"legacy":')
    .replace(/"c":/g, '"candidate":')
    .replace(/"n":/g, '"candidateCount":')
    .replace(/"o":1/g, '"candidateBreakerOpen":true')
    .replace(
      /"s":\[(\d+),(\d+),([01])\]/g,
      (_, c, m, s) => `"shadow":{"compared":${c},"mismatched":${m},"settled":${s === '1'}}`,
    );
}

console.log(
  `node ${process.version}; latencies 92% 2–22 ms, 8% 250 ms–1.85 s; candidate at ${CANARY}% of legacy; median of ${ROUNDS}`,
);
console.log(
  '\npayload of one instance for one second (bytes; with long keys), publish and parse CPU (µs: best (median))',
);
console.log(
  'routes  profile                       legacy req/s/route    bytes  bytes/route  long keys      publish µs        parse µs',
);
for (const routes of [1, 100, 1000]) {
  for (const [profile, perSecond] of [
    [`${RATE} req/s per route`, RATE],
    [`${TOTAL} req/s over all routes`, TOTAL / routes / (1 + CANARY / 100)],
  ] as const) {
    const sources = instance(1, routes, perSecond, 2);
    const payload = buildFiguresPayload(sources, lastSecond)!;
    const bytes = Buffer.byteLength(payload);
    const publish = time(() => buildFiguresPayload(sources, lastSecond), routes === 1 ? 200 : 3);
    const parse = time(() => parseFiguresPayload(payload), routes === 1 ? 200 : 3);
    const long = Buffer.byteLength(withLongKeys(payload));
    console.log(
      `${String(routes).padStart(6)}  ${profile.padEnd(30)}${perSecond.toFixed(2).padStart(19)}${String(bytes).padStart(9)}` +
        `${(bytes / routes).toFixed(0).padStart(13)}${(long / routes).toFixed(0).padStart(11)}` +
        `${fmt(publish).padStart(16)}${fmt(parse).padStart(16)}`,
    );
  }
}

// The leader, 100 routes: 3 instances × 31 seconds published, ingested once; then
// each second one new second per instance is ingested and every side snapshot over 30 s.
console.log(`\nleader, 100 routes, ${INSTANCES} instances, ${WINDOW} s gate window`);
for (const [profile, perSecond] of [
  [`${RATE} req/s per route`, RATE],
  [`${TOTAL} req/s per instance`, TOTAL / 100 / (1 + CANARY / 100)],
] as const) {
  const fleets = Array.from({ length: INSTANCES }, (_, i) =>
    instance(i + 1, 100, perSecond, WINDOW + 1),
  );
  const published: PublishedFigures[] = [];
  for (let s = lastSecond - WINDOW; s <= lastSecond; s++) {
    fleets.forEach((sources, i) => {
      published.push({ instance: `i${i}`, second: s, payload: buildFiguresPayload(sources, s)! });
    });
  }
  const latest = published.slice(-INSTANCES);
  const fresh = () => {
    const fleet = new FleetFigures({ localInstance: 'leader', retainSeconds: WINDOW + 1, clock });
    fleet.ingest(published.slice(0, -INSTANCES));
    return fleet;
  };
  // Ingesting the last second needs a fleet that has not taken it yet: built outside the timing.
  const pool = Array.from({ length: ROUNDS + 1 }, fresh);
  let next = 0;
  const ingest = time(() => pool[next++].ingest(latest));
  const fleet = pool[0];
  const snapshot = time(() => {
    let requests = 0;
    for (let r = 0; r < 100; r++) {
      const figures = fleet.route(fleets[0][r].route)!;
      requests += figures.legacy.snapshot(NOW - WINDOW * 1000).requests;
      requests += figures.candidate.snapshot(NOW - WINDOW * 1000).requests;
    }
    return requests;
  });
  const one = fleet.route(fleets[0][0].route)!.legacy.snapshot(NOW - WINDOW * 1000);
  console.log(
    `  ${profile}: ingest one second of ${INSTANCES} instances ${fmt(ingest, 1000, 2)} ms, ` +
      `200 snapshots over ${WINDOW} s × ${INSTANCES} instances ${fmt(snapshot, 1000, 2)} ms ` +
      `(a side: ${one.requests} requests, p99 ${one.p99} ms)`,
  );
}
