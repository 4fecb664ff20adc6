// classifyOutcome in isolation (issue 12): what judging an attempt costs for
// a plain HTTP request (the hot path: no gRPC codes handed over) and for a
// gRPC call (grpc-status read from the head or the trailers), in ns per call,
// median over ROUNDS rounds, with the GC runs seen during the measured loops
// (0 = nothing allocated that survived to a scavenge). With BASELINE_ROOT (a
// checkout of the code before, e.g. `git archive 95c3fd3 | tar -x -C DIR`)
// the old classifier runs alternately in the same process.
// CALLS=5000000 ROUNDS=7 BASELINE_ROOT=/tmp/base [ONLY=now|before] node bench/outcome-micro.ts
import { PerformanceObserver } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { grpcCodeMask } from '../src/config/index.ts';
import type { GrpcCodeSets, Outcome, ResponseFields } from '../src/telemetry/index.ts';
import { classifyOutcome } from '../src/telemetry/index.ts';

const CALLS = Number(process.env.CALLS ?? 5_000_000);
const ROUNDS = Number(process.env.ROUNDS ?? 7);

type Classify = (
  status: number,
  broke: undefined,
  headers: ResponseFields | undefined,
  trailers: ResponseFields | undefined,
  grpc?: GrpcCodeSets,
) => Outcome;

const GRPC: GrpcCodeSets = {
  failures: grpcCodeMask([2, 4, 13, 14, 15]),
  retryable: grpcCodeMask([14]),
};
// Shaped as undici hands them over: a head with a few fields, trailers.
const HEAD: ResponseFields = {
  'content-type': 'application/json',
  'content-length': '110',
  date: 'x',
  connection: 'keep-alive',
};
const GRPC_HEAD: ResponseFields = { 'content-type': 'application/grpc', date: 'x' };
const OK_TRAILERS: ResponseFields = { 'grpc-status': '0', 'grpc-message': '' };
const FAILED_TRAILERS: ResponseFields = { 'grpc-status': '14', 'grpc-message': 'down' };
const NO_TRAILERS: ResponseFields = {};

interface Case {
  readonly name: string;
  readonly run: (classify: Classify) => number;
}

/** Each case calls the classifier CALLS times and returns a checksum (so nothing is optimised away). */
const CASES: readonly Case[] = [
  {
    name: 'HTTP 200, head (what the proxy asks at onResponseStart)',
    run: (c) => {
      let n = 0;
      for (let i = 0; i < CALLS; i++) n += c(200, undefined, HEAD, undefined).backendOk ? 1 : 0;
      return n;
    },
  },
  {
    name: 'HTTP 200, end (trailers {})',
    run: (c) => {
      let n = 0;
      for (let i = 0; i < CALLS; i++) n += c(200, undefined, HEAD, NO_TRAILERS).backendOk ? 1 : 0;
      return n;
    },
  },
  {
    name: 'HTTP 503, head',
    run: (c) => {
      let n = 0;
      for (let i = 0; i < CALLS; i++) n += c(503, undefined, HEAD, undefined).transient ? 1 : 0;
      return n;
    },
  },
  {
    name: 'gRPC, head without status',
    run: (c) => {
      let n = 0;
      for (let i = 0; i < CALLS; i++) {
        n += c(200, undefined, GRPC_HEAD, undefined, GRPC).backendOk ? 1 : 0;
      }
      return n;
    },
  },
  {
    name: 'gRPC, end, OK in trailers',
    run: (c) => {
      let n = 0;
      for (let i = 0; i < CALLS; i++) {
        n += c(200, undefined, GRPC_HEAD, OK_TRAILERS, GRPC).backendOk ? 1 : 0;
      }
      return n;
    },
  },
  {
    name: 'gRPC, end, UNAVAILABLE in trailers',
    run: (c) => {
      let n = 0;
      for (let i = 0; i < CALLS; i++) {
        n += c(200, undefined, GRPC_HEAD, FAILED_TRAILERS, GRPC).transient ? 1 : 0;
      }
      return n;
    },
  },
];

let gcRuns = 0;
new PerformanceObserver((list) => {
  gcRuns += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });

/** ns per call of one round, and the GC runs it saw (entries arrive after a turn). */
async function round(c: Case, classify: Classify): Promise<[number, number]> {
  await new Promise((r) => setImmediate(r));
  const gcBefore = gcRuns;
  const t0 = process.hrtime.bigint();
  const sum = c.run(classify);
  const ns = Number(process.hrtime.bigint() - t0) / CALLS;
  await new Promise((r) => setTimeout(r, 10));
  if (sum < 0) throw new Error('unreachable');
  return [ns, gcRuns - gcBefore];
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// ONLY=now or ONLY=before: one classifier in the process, so neither call site
// turns polymorphic (compare runs of separate processes then).
const only = process.env.ONLY;
const variants: [string, Classify][] =
  only === 'before' ? [] : [['now', classifyOutcome as Classify]];
const base = process.env.BASELINE_ROOT;
if (base !== undefined && only !== 'now') {
  const url = pathToFileURL(`${base}/src/telemetry/outcome.ts`).href;
  const old = (await import(url)) as { classifyOutcome: Classify };
  variants.push(['before', old.classifyOutcome]);
}

console.log(
  `classifyOutcome: ${CALLS} calls per round, ${ROUNDS} rounds (median ns/call; GC runs)`,
);
for (const c of CASES) {
  // The old classifier knows no gRPC: its gRPC rows are what it did with gRPC answers (a success).
  const results = variants.map(() => ({ ns: [] as number[], gc: 0 }));
  for (let r = 0; r < ROUNDS; r++) {
    for (let v = 0; v < variants.length; v++) {
      const [ns, gc] = await round(c, variants[v]![1]);
      results[v]!.ns.push(ns);
      results[v]!.gc += gc;
    }
  }
  const cells = variants.map(
    ([name], v) => `${name} ${median(results[v]!.ns).toFixed(2)} ns (GC ${results[v]!.gc})`,
  );
  console.log(`  ${c.name.padEnd(56)} ${cells.join('   ')}`);
}
