// Times buildReport and the two text formats on a retention's worth of
// history: DAYS days (30 by default, the default retention) of minute rows
// for ROUTES routes, both sides and a shadow row every minute, plus a
// ledger. Prints one JSON line. The slots are 64 variants recorded in a real
// SlidingWindow (1,000 requests each) and reused: the report's cost depends
// on the rows and their bins, not on the slots' identity.
// Run: flock /tmp/bench.lock npm exec -- node bench/report-build.ts
import { buildReport, formatReportHtml, formatReportMarkdown } from '../src/report/index.ts';
import { type RouteHistory, SlidingWindow, type WindowSlot } from '../src/telemetry/index.ts';

const DAYS = Number(process.env.DAYS ?? 30);
const ROUTES = Number(process.env.ROUTES ?? 3);
const MIN = 60_000;
const T = 1_700_000_000_000;
const FROM = Math.floor(T / MIN) * MIN;

let seed = 7;
const random = () => {
  seed = (seed * 16807) % 2147483647;
  return seed / 2147483647;
};

function slot(base: number, failures: number): WindowSlot {
  const window = new SlidingWindow({ retainSeconds: 2, clock: () => T });
  for (let i = 0; i < 1000; i++) {
    window.record(
      200,
      base * (0.7 + 0.6 * random()) + (random() < 0.01 ? base * 5 : 0),
      i < failures,
      T,
    );
  }
  return window.slotAt(Math.floor(T / 1000)) as WindowSlot;
}

const legacy = Array.from({ length: 64 }, (_, i) => slot(40, i % 4));
const candidate = Array.from({ length: 64 }, (_, i) => slot(10, i % 8 === 0 ? 1 : 0));
const minutes = DAYS * 1440;
const routes: RouteHistory[] = Array.from({ length: ROUTES }, (_, r) => ({
  route: `route-${r}`,
  minutes: Array.from({ length: minutes }, (_, m) => ({
    minute: FROM + m * MIN,
    legacy: legacy[m % 64],
    candidate: candidate[(m * 7) % 64],
    breakerOpenings: { legacy: 0, candidate: m % 5000 === 0 ? 1 : 0 },
    shadow: {
      compared: 100,
      mismatched: m % 3,
      fields: { '$.price': m % 3, 'header:etag': 1 },
      legacy: legacy[(m * 3) % 64],
      candidate: candidate[(m * 5) % 64],
    },
    instances: 2,
  })),
}));

const start = performance.now();
const report = buildReport({
  from: FROM,
  until: FROM + minutes * MIN,
  routes,
  timeline: [],
  instances: { legacy: 4, candidate: 2 },
  generatedAt: FROM + minutes * MIN,
});
const built = performance.now();
const markdown = formatReportMarkdown(report);
const md = performance.now();
const html = formatReportHtml(report);
const done = performance.now();
const json = JSON.stringify(report, null, 2);
console.log(
  JSON.stringify({
    days: DAYS,
    routes: ROUTES,
    rows: ROUTES * minutes,
    buildMs: Math.round(built - start),
    markdownMs: Math.round(md - built),
    htmlMs: Math.round(done - md),
    markdownBytes: markdown.length,
    htmlBytes: html.length,
    jsonBytes: json.length,
    rssMiB: Math.round(process.memoryUsage.rss() / 2 ** 20),
  }),
);
