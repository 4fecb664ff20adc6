// Profiles Cutover's request path under the benchmark's load (issue 10, § 5):
// one Cutover (bench/cutover.yaml, or BENCH_CUTOVER_CONFIG) on CPU 1 under wrk at
// 50 connections, twice — with --cpu-prof and --trace-gc, then with
// bench/lib/alloc-probe.ts sampling what is allocated. Writes into
// bench/out/profile-<stamp>/ and prints the figures per request:
//
//   node bench/profile.ts
//   node bench/profile-summary.ts bench/out/profile-*/cpu/*.cpuprofile --match src/ --per <requests>
//   node bench/profile-summary.ts bench/out/profile-*/alloc.heapprofile --per <requests>
//
// BENCH_PROFILE_H2=h2 (or 1): the HTTP/2 path instead (issue 12) — bench/cutover-h2.yaml in
// front of bench/h2-upstream.ts under h2load; BENCH_PROFILE_H2=grpc: bench/cutover-grpc.yaml in
// front of bench/grpc-upstream.ts under bench/grpc-load.ts; both at 4 connections × 25
// streams, as in bench/h2.ts.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BENCH_DIR, cutoverCase, REPO_ROOT } from './cases.ts';
import { intEnv } from './lib/env.ts';
import { grpcLoad, h2load, type StreamLoad } from './lib/h2-load.ts';
import { chooseLoader, type LoadResult } from './lib/load.ts';
import { clockTicks, cpuTicks, readPort, runBench, startProcess } from './lib/procs.ts';

const seconds = intEnv('BENCH_DURATION', 20, 1);
const warmup = intEnv('BENCH_WARMUP', 20, 0);
const connections = intEnv('BENCH_CONNECTIONS', 50, 1);
const MODES = {
  http1: { upstream: 'upstream.ts', template: 'cutover.yaml' },
  h2: { upstream: 'h2-upstream.ts', template: 'cutover-h2.yaml' },
  grpc: { upstream: 'grpc-upstream.ts', template: 'cutover-grpc.yaml' },
} as const;
const modeName =
  { '': 'http1', '1': 'h2' }[process.env.BENCH_PROFILE_H2 ?? ''] ?? process.env.BENCH_PROFILE_H2;
if (modeName !== 'http1' && modeName !== 'h2' && modeName !== 'grpc')
  throw new Error(`BENCH_PROFILE_H2 must be h2 or grpc, got ${JSON.stringify(modeName)}`);
const mode = MODES[modeName];
const streams: StreamLoad = { connections: 4, streamsPerConnection: 25 };
const template = process.env.BENCH_CUTOVER_CONFIG ?? join(BENCH_DIR, mode.template);
const path = process.env.BENCH_PATH ?? '/api/v1/items';
const node = existsSync(join(REPO_ROOT, 'node_modules/.bin/node'))
  ? join(REPO_ROOT, 'node_modules/.bin/node')
  : process.execPath;
const tmp = mkdtempSync(join(tmpdir(), 'cutover-profile-'));
const out = join(BENCH_DIR, 'out', `profile-${new Date().toISOString().replace(/[:.]/g, '-')}`);

function note(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** `--trace-gc` lines: young-generation bytes allocated (sum of growth between scavenges) and pause time. */
function gcFigures(log: string): {
  allocatedMb: number;
  pauseMs: number;
  scavenges: number;
  markCompacts: number;
} {
  let allocatedMb = 0;
  let pauseMs = 0;
  let scavenges = 0;
  let markCompacts = 0;
  let previousAfter: number | undefined;
  for (const line of log.split('\n')) {
    const m = line.match(
      /: (Scavenge|Mark-Compact)[^\d]* ([\d.]+) \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB.*?, ([\d.]+) \/ [\d.]+ ms/,
    );
    if (!m) continue;
    const [before, after, pause] = [Number(m[2]), Number(m[3]), Number(m[4])];
    if (previousAfter !== undefined && before > previousAfter)
      allocatedMb += before - previousAfter;
    previousAfter = after;
    pauseMs += pause;
    if (m[1] === 'Scavenge') scavenges++;
    else markCompacts++;
  }
  return { allocatedMb, pauseMs, scavenges, markCompacts };
}

async function main(): Promise<void> {
  const loader = modeName === 'http1' ? chooseLoader(BENCH_DIR, node) : undefined;
  const run = (port: number, s: number): Promise<LoadResult> => {
    const url = `http://127.0.0.1:${port}${path}`;
    if (loader) return loader.run({ url, seconds: s, connections });
    if (modeName === 'h2') return h2load(url, s, streams, tmp);
    return grpcLoad(BENCH_DIR, node, `127.0.0.1:${port}`, s, streams);
  };
  mkdirSync(out, { recursive: true });
  const upstreamProc = startProcess(node, [join(BENCH_DIR, mode.upstream)], { cpu: 0 });
  const upstream = `http://127.0.0.1:${await readPort(upstreamProc, 'upstream')}`;
  upstreamProc.stdout?.resume();
  upstreamProc.stderr?.resume();
  const ctx = (name: string) => {
    const dir = join(tmp, name);
    mkdirSync(dir, { recursive: true });
    return { upstream, upstreamPid: upstreamProc.pid!, node, dir };
  };

  // 1. CPU profile and GC trace over warm-up + window (trace-gc writes to stdout: the access log file).
  const cpuDir = join(out, 'cpu');
  const a = await cutoverCase('cutover', template, undefined, {
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${cpuDir}`, '--trace-gc'],
  }).start(ctx('cpu'));
  note(`profile: cpu + gc: ${warmup}s warm-up, ${seconds}s measured…`);
  const warm = await run(a.port, warmup);
  const before = cpuTicks(a.pids);
  const load = await run(a.port, seconds);
  const cpuUs = ((cpuTicks(a.pids) - before) / clockTicks) * 1e6;
  await a.stop();
  const gc = gcFigures(readFileSync(join(tmp, 'cpu', 'access.log'), 'utf8'));
  const requests = warm.requests + load.requests;
  note(
    `profile: ${load.rps.toFixed(0)} req/s, ${(cpuUs / load.requests).toFixed(1)} µs CPU/req; ` +
      `over warm-up + window (${requests} requests): ${((gc.allocatedMb * 2 ** 20) / requests).toFixed(0)} bytes allocated/req, ` +
      `GC ${((gc.pauseMs * 1000) / requests).toFixed(1)} µs/req (${gc.scavenges} scavenges, ${gc.markCompacts} mark-compacts)`,
  );
  note(`profile: CPU profile in ${cpuDir}/${readdirSync(cpuDir)[0]} (covers ${requests} requests)`);

  // 2. What is allocated, sampled over one window after the warm-up.
  const allocFile = join(out, 'alloc.heapprofile');
  const b = await cutoverCase('cutover', template, undefined, {
    nodeArgs: ['--import', join(BENCH_DIR, 'lib/alloc-probe.ts')],
    env: { BENCH_ALLOC_OUT: allocFile },
  }).start(ctx('alloc'));
  note(`profile: allocations: ${warmup}s warm-up, ${seconds}s sampled…`);
  await run(b.port, warmup);
  process.kill(b.pids[0], 'SIGUSR2');
  const sampled = await run(b.port, seconds);
  process.kill(b.pids[0], 'SIGUSR2');
  for (let i = 0; i < 100 && !existsSync(allocFile); i++) await sleep(100);
  await b.stop();
  note(`profile: allocation profile in ${allocFile} (covers ${sampled.requests} requests)`);
  process.stdout.write(
    `${JSON.stringify({ cpuUsPerRequest: cpuUs / load.requests, rps: load.rps, p99Ms: load.p99Ms, gc, gcRequests: requests, allocRequests: sampled.requests, out })}\n`,
  );
}

await runBench(main, () => rmSync(tmp, { recursive: true, force: true }));
