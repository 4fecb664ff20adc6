// The fixed-rate latency pass of the benchmark: an open-loop load of RATE
// requests/s on URL for SECONDS (after WARMUP seconds not counted), latency
// measured from when each request was due, into an HDR histogram. Run as its
// own process beside the upstream on CPU 0; prints {"measuring":true} when the
// measured window begins and {"measuring":false} when it ends (so the bench can
// read the proxy's CPU time over exactly that window), then the result's JSON line.
import { build } from 'hdr-histogram-js';
import { OpenLoopLoad, Tally } from './lib/open-loop.ts';

const url = new URL(process.env.URL ?? '');
const rate = Number(process.env.RATE);
const seconds = Number(process.env.SECONDS);
const warmup = Number(process.env.WARMUP ?? 2);

// Microseconds, 1 µs to 60 s, 3 significant digits: a bench can afford the memory.
const histogram = build({
  lowestDiscernibleValue: 1,
  highestTrackableValue: 60_000_000,
  numberOfSignificantValueDigits: 3,
  useWebAssembly: false,
});
let counting = false;
const load = new OpenLoopLoad({
  origin: url.origin,
  path: `${url.pathname}${url.search}`,
  rate,
  onAnswer: (ms) => {
    if (counting) histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
  },
});
load.start();
await new Promise((r) => setTimeout(r, warmup * 1000));
// New sends count in a fresh tally; answers to warm-up requests still land in the old one.
const tally = new Tally();
load.tally = tally;
counting = true;
process.stdout.write('{"measuring":true}\n');
await new Promise((r) => setTimeout(r, seconds * 1000));
counting = false;
process.stdout.write('{"measuring":false}\n');
await load.stop();
const ms = (p: number) => histogram.getValueAtPercentile(p) / 1000;
process.stdout.write(
  `${JSON.stringify({
    rate,
    seconds,
    answered: histogram.totalCount,
    notOk: tally.notOk,
    dropped: tally.dropped,
    p50: ms(50),
    p90: ms(90),
    p99: ms(99),
    p999: ms(99.9),
    max: histogram.maxValue / 1000,
  })}\n`,
);
