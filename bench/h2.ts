// `npm run bench:h2` (and the end of `npm run bench`): what proxying HTTP/2 and gRPC
// costs (issue 12). h2load at 100 concurrent streams against a node:http2 upstream
// directly, through a plain node:http2 proxy and through Cutover (h2c in, h2c out);
// grpc-js unary calls, 100 in flight, against a grpc-js server directly, through the
// plain proxy and through Cutover. Interleaved rounds, pinned CPUs and CPU per request
// from /proc as in bench/run.ts (bench/lib/rounds.ts). See bench/README.md, "HTTP/2 and gRPC".
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BENCH_DIR,
  type BenchCase,
  type CaseContext,
  cutoverCase,
  nodeServerCase,
  REPO_ROOT,
  type Target,
} from './cases.ts';
import { intEnv } from './lib/env.ts';
import { grpcLoad, h2load, h2loadUnavailable, type StreamLoad } from './lib/h2-load.ts';
import type { LoadResult } from './lib/load.ts';
import { pinning, readPort, runBench, startProcess, stopAll } from './lib/procs.ts';
import { formatPerRound, formatTable, type Ratio, ratios, summarize } from './lib/report.ts';
import { type RoundCase, runRounds, secondsPerRun } from './lib/rounds.ts';

const settings = {
  rounds: intEnv('BENCH_ROUNDS', 2, 1),
  seconds: intEnv('BENCH_DURATION', 10, 1),
  // As bench/run.ts: a proxy left idle while the other cases run needs a few seconds back.
  warmupSeconds: intEnv('BENCH_WARMUP', 5, 0),
  // Shorter than bench/run.ts's 15 s so that the six cases' default run stays under
  // 5 minutes (issue 12); the per-round figures show whether round 1 was still settling.
  settleSeconds: intEnv('BENCH_SETTLE', 10, 0),
  noisyRetries: intEnv('BENCH_NOISY_RETRIES', 1, 0),
  path: process.env.BENCH_PATH ?? '/api/v1/items',
};
// 4 connections × 25 streams = the 100 concurrent streams; a handful of
// connections, as a client-side pool or another proxy would hold, not one per stream.
const shape: StreamLoad = {
  connections: intEnv('BENCH_H2_CONNECTIONS', 4, 1),
  streamsPerConnection: intEnv('BENCH_H2_STREAMS', 25, 1),
};

/** Which upstream a case sits in front of, and so which load generator drives it. */
type Protocol = 'h2' | 'grpc';

interface H2Case extends BenchCase {
  protocol: Protocol;
}

// Issue 12: CPU per HTTP/2 request at most 1.1× the plain node:http2 proxy's.
const TARGET_VS_PLAIN = 1.1;

function note(message: string): void {
  process.stderr.write(`${message}\n`);
}

function directCase(protocol: Protocol): H2Case {
  return {
    name: `${protocol}:direct`,
    protocol,
    about: `the ${protocol === 'h2' ? 'node:http2' : 'grpc-js'} upstream itself, no proxy (CPU/request is the upstream’s)`,
    async start(ctx) {
      const port = Number(new URL(ctx.upstream).port);
      return { port, pids: [ctx.upstreamPid], cpuOf: 'upstream', stop: async () => {} };
    },
  };
}

function withProtocol(protocol: Protocol, c: BenchCase): H2Case {
  return { ...c, protocol };
}

function allH2Cases(): H2Case[] {
  const h2loadMissing = (c: H2Case): H2Case => ({
    ...c,
    unavailable: () => h2loadUnavailable() ?? c.unavailable?.(),
  });
  return [
    ...[
      directCase('h2'),
      withProtocol(
        'h2',
        nodeServerCase(
          'h2:plain',
          'node:http2 h2c proxy, one upstream session (bench/plain-h2-proxy.ts)',
          'plain-h2-proxy.ts',
        ),
      ),
      withProtocol('h2', cutoverCase('h2:cutover', join(BENCH_DIR, 'cutover-h2.yaml'))),
    ].map(h2loadMissing),
    directCase('grpc'),
    withProtocol(
      'grpc',
      nodeServerCase(
        'grpc:plain',
        'the same plain node:http2 proxy in front of the grpc-js server',
        'plain-h2-proxy.ts',
      ),
    ),
    withProtocol('grpc', cutoverCase('grpc:cutover', join(BENCH_DIR, 'cutover-grpc.yaml'))),
  ];
}

function selectCases(): H2Case[] {
  const all = allH2Cases();
  const wanted = (process.env.BENCH_H2_CASES ?? all.map((c) => c.name).join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = wanted.filter((name) => !all.some((c) => c.name === name));
  if (unknown.length > 0) {
    throw new Error(
      `BENCH_H2_CASES: unknown case ${unknown.join(', ')}; known: ${all.map((c) => c.name).join(', ')}`,
    );
  }
  return all.filter((c) => wanted.includes(c.name));
}

/** What each case is read against: the plain proxy (the target) and the upstream alone. */
function referencesFor(name: string): readonly string[] {
  const [protocol, kind] = name.split(':');
  if (kind === 'cutover') return [`${protocol}:plain`, `${protocol}:direct`];
  if (kind === 'plain') return [`${protocol}:direct`];
  return [];
}

function formatRatios(list: readonly Ratio[]): string {
  return list
    .map((r) => {
      const target =
        r.case === 'h2:cutover' && r.versus === 'h2:plain'
          ? `   (target CPU/req ≤ ${TARGET_VS_PLAIN}×: ${r.cpuPerRequest <= TARGET_VS_PLAIN ? 'met' : 'NOT met'})`
          : '';
      return `${r.case} / ${r.versus}: CPU/req ${r.cpuPerRequest.toFixed(2)}×, req/s ${r.rps.toFixed(2)}×, p99 ${r.p99.toFixed(2)}×${target}`;
    })
    .join('\n');
}

function version(command: string, args: string[]): string | undefined {
  const { stdout, stderr } = spawnSync(command, args, { encoding: 'utf8' });
  return `${stdout ?? ''}${stderr ?? ''}`.trim().split('\n')[0] || undefined;
}

interface Upstream {
  url: string;
  pid: number;
}

async function startUpstream(node: string, script: string): Promise<Upstream> {
  const child = startProcess(node, [join(BENCH_DIR, script)], { cpu: 0 });
  const port = await readPort(child, script);
  child.stdout?.resume();
  child.stderr?.resume();
  return { url: `http://127.0.0.1:${port}`, pid: child.pid! };
}

const tmpDirs: string[] = [];

function removeTmp(): void {
  for (const dir of tmpDirs.splice(0)) {
    if (process.env.BENCH_KEEP_TMP === '1') note(`bench: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  // `npm run bench` runs this after bench/run.ts; BENCH_H2=0 leaves it out.
  if (process.env.BENCH_H2 === '0') {
    note('bench h2: skipped (BENCH_H2=0)');
    return;
  }
  const node = existsSync(join(REPO_ROOT, 'node_modules/.bin/node'))
    ? join(REPO_ROOT, 'node_modules/.bin/node')
    : process.execPath;
  const cases = selectCases();
  const planned =
    cases.length * (settings.rounds * secondsPerRun(settings) + settings.settleSeconds) + 15;
  const deadline = Date.now() + planned * 1.5 * 1000;
  note(
    `bench h2: ${cases.map((c) => c.name).join(', ')}; ${settings.rounds} round(s) × ${settings.seconds}s ` +
      `(+${settings.warmupSeconds}s warm-up) at ${shape.connections} connections × ${shape.streamsPerConnection} streams; ` +
      `about ${Math.ceil(planned / 60)} min`,
  );
  note(`bench h2: ${pinning.note}`);

  const tmp = mkdtempSync(join(tmpdir(), 'cutover-bench-h2-'));
  tmpDirs.push(tmp);
  const targets = new Map<string, Target>();
  const failures = new Map<string, string>();
  const facts: Record<string, unknown> = {};
  const upstreams = new Map<Protocol, Upstream>();
  let records: Awaited<ReturnType<typeof runRounds>> = [];
  try {
    for (const protocol of new Set(cases.map((c) => c.protocol))) {
      const upstream = await startUpstream(
        node,
        protocol === 'h2' ? 'h2-upstream.ts' : 'grpc-upstream.ts',
      );
      upstreams.set(protocol, upstream);
      note(`bench h2: ${protocol} upstream on ${upstream.url} (pid ${upstream.pid})`);
    }
    for (const c of cases) {
      const reason = c.unavailable?.();
      if (reason) {
        note(`bench h2: skipping ${c.name}: ${reason}`);
        failures.set(c.name, `skipped: ${reason}`);
        continue;
      }
      const dir = join(tmp, c.name.replace(/[^A-Za-z0-9._-]/g, '_'));
      mkdirSync(dir, { recursive: true });
      const upstream = upstreams.get(c.protocol)!;
      const ctx: CaseContext = { upstream: upstream.url, upstreamPid: upstream.pid, node, dir };
      note(`bench h2: starting ${c.name}…`);
      try {
        const target = await c.start(ctx);
        targets.set(c.name, target);
        note(`bench h2: ${c.name} on port ${target.port} (pid ${target.pids.join(', ')})`);
      } catch (error) {
        const message = (error as Error).message;
        failures.set(c.name, message);
        note(`bench h2: ${c.name} failed to start: ${message}`);
      }
    }

    const running: RoundCase[] = cases
      .filter((c) => targets.has(c.name))
      .map((c) => {
        const target = targets.get(c.name)!;
        const dir = join(tmp, c.name.replace(/[^A-Za-z0-9._-]/g, '_'));
        const load: (seconds: number) => Promise<LoadResult> =
          c.protocol === 'h2'
            ? (seconds) =>
                h2load(`http://127.0.0.1:${target.port}${settings.path}`, seconds, shape, dir)
            : (seconds) => grpcLoad(BENCH_DIR, node, `127.0.0.1:${target.port}`, seconds, shape);
        return {
          name: c.name,
          pids: target.pids,
          cpuOf: target.cpuOf,
          upstreamPid: upstreams.get(c.protocol)!.pid,
          load,
        };
      });
    records = await runRounds(settings, running, deadline);
    for (const [name, target] of targets) {
      if (target.facts) facts[name] = await target.facts();
    }
  } finally {
    for (const target of targets.values()) await target.stop().catch(() => {});
    await stopAll();
    removeTmp();
  }

  const names = cases.map((c) => c.name);
  const summaries = summarize(records, names, failures);
  const ratioList = ratios(records, names, referencesFor);
  process.stdout.write(
    `\nHTTP/2 (h2load, ${shape.connections} connections × ${shape.streamsPerConnection} streams) and gRPC unary (grpc-js, ${shape.connections} channels × ${shape.streamsPerConnection} calls)\n`,
  );
  process.stdout.write(`${formatTable(summaries, [])}\n`);
  if (ratioList.length > 0) process.stdout.write(`\n${formatRatios(ratioList)}\n`);
  if (settings.rounds > 1) process.stdout.write(`\n${formatPerRound(records, names)}\n`);

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = join(BENCH_DIR, 'out');
  mkdirSync(outDir, { recursive: true });
  const outFile = join(outDir, `h2-${stamp}.json`);
  const report = {
    date: new Date().toISOString(),
    machine: {
      cpuModel: cpus()[0]?.model,
      cpus: cpus().length,
      node: version(node, ['--version']),
      loader: version('h2load', ['--version']),
      pinning: pinning.note,
    },
    settings: { ...settings, ...shape, cases: names },
    summary: summaries,
    ratios: ratioList,
    runs: records,
    facts,
  };
  writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);
  note(`bench h2: wrote ${outFile}`);
}

await runBench(main, removeTmp);
