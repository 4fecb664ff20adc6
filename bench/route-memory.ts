// Memory per route (issue 10, § 5): Cutover started with 10 and with 10,000
// generated routes (bench/lib/scale-config.ts), RSS and heap after a full GC read
// through bench/lib/memory-probe.ts, first with no traffic, then after 10,000
// requests over all routes (so at least one to each). Per route = the difference
// over the difference in routes.
//
//   node bench/route-memory.ts                      # 10 and 10,000 routes
//   BENCH_ROUTE_COUNTS=10,1000,10000 node bench/route-memory.ts
//   BENCH_HEAP_SNAPSHOT=/tmp/snaps node bench/route-memory.ts   # + heap snapshots
//   BENCH_BASELINE_ROOT=../base node bench/route-memory.ts      # + another checkout, first
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { BENCH_DIR, REPO_ROOT } from './cases.ts';
import { waitFor200 } from './lib/admin.ts';
import { freePort, readPort, runBench, startProcess, stopAll, stopProcess } from './lib/procs.ts';
import { routePrefix, scaleConfig } from './lib/scale-config.ts';

export interface MemoryFigures {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

const counts = (process.env.BENCH_ROUTE_COUNTS ?? '10,10000')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n) && n > 0);
const node = existsSync(join(REPO_ROOT, 'node_modules/.bin/node'))
  ? join(REPO_ROOT, 'node_modules/.bin/node')
  : process.execPath;
const tmp = mkdtempSync(join(tmpdir(), 'cutover-route-memory-'));

function note(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Sends SIGUSR2 and waits for the probe's line (a full GC first). */
async function probe(pid: number, file: string): Promise<MemoryFigures> {
  const before = existsSync(file) ? readFileSync(file, 'utf8').split('\n').length : 0;
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 600; i++) {
    await sleep(100);
    const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n') : [];
    if (lines.length > before) return JSON.parse(lines.at(-2)!) as MemoryFigures;
  }
  throw new Error('the memory probe did not answer within 60 s');
}

/**
 * At least this many requests, round-robin over the routes, in every case: the
 * same traffic (and so the same heap growth from garbage) at 10 routes as at
 * 10,000, so the difference is what calling each route costs.
 */
const CALLS = 10_000;

async function callEveryRoute(port: number, routes: number): Promise<void> {
  const agent = new Agent({ connections: 16 });
  const calls = Math.max(routes, CALLS);
  let next = 0;
  const worker = async () => {
    while (next < calls) {
      const i = next++ % routes;
      const res = await request(`http://127.0.0.1:${port}${routePrefix(i)}/x`, {
        dispatcher: agent,
        headers: { 'x-user-id': `u${i}` },
      });
      await res.body.dump();
      if (res.statusCode !== 200) throw new Error(`${routePrefix(i)}/x: ${res.statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  await agent.close();
}

export interface RouteMemory {
  /** Which checkout: 'this' or the baseline's path. */
  root: string;
  routes: number;
  startMs: number;
  idle: MemoryFigures;
  called: MemoryFigures;
}

async function measure(routes: number, upstream: string, root: string): Promise<RouteMemory> {
  const dir = mkdtempSync(join(tmp, `r${routes}-`));
  const [port, adminPort] = [await freePort(), await freePort()];
  const configPath = join(dir, 'cutover.yaml');
  writeFileSync(
    configPath,
    scaleConfig({ routes, listenPort: port, adminPort, upstream, dir, accessLog: false }),
  );
  const out = join(dir, 'memory.jsonl');
  const started = performance.now();
  const child = startProcess(
    node,
    [
      '--expose-gc',
      '--import',
      join(BENCH_DIR, 'lib/memory-probe.ts'),
      'src/cli/main.ts',
      'start',
      '-c',
      configPath,
    ],
    { cpu: 1, cwd: root, env: { ...process.env, BENCH_MEMORY_OUT: out } },
  );
  child.stdout?.resume();
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-3000);
  });
  try {
    await waitFor200(`http://127.0.0.1:${adminPort}/healthz`, 120_000, child);
    const startMs = performance.now() - started;
    await sleep(2000);
    const idle = await probe(child.pid!, out);
    await callEveryRoute(port, routes);
    await sleep(1000);
    const called = await probe(child.pid!, out);
    return { root: root === REPO_ROOT ? 'this' : root, routes, startMs, idle, called };
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${stderr}`);
  } finally {
    await stopProcess(child);
  }
}

const kib = (bytes: number) => (bytes / 1024).toFixed(1);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

function format(results: RouteMemory[]): string {
  const rows = [
    '| checkout | routes | start s | RSS idle MiB | heap used idle MiB | heap total idle MiB | RSS after 10k req MiB | heap used after MiB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.root} | ${r.routes} | ${(r.startMs / 1000).toFixed(1)} | ${mib(r.idle.rss)} | ${mib(r.idle.heapUsed)} | ${mib(r.idle.heapTotal)} | ${mib(r.called.rss)} | ${mib(r.called.heapUsed)} |`,
    ),
    '',
  ];
  for (const root of new Set(results.map((r) => r.root))) {
    const mine = results.filter((r) => r.root === root);
    const [a, b] = [mine[0], mine.at(-1)!];
    if (b.routes <= a.routes) continue;
    const per = (f: (r: RouteMemory) => number) => kib((f(b) - f(a)) / (b.routes - a.routes));
    rows.push(
      `Per route, ${root} (${a.routes} → ${b.routes}): RSS idle ${per((r) => r.idle.rss)} KiB, heap idle ${per((r) => r.idle.heapUsed)} KiB; ` +
        `after 10,000 requests over all routes: RSS ${per((r) => r.called.rss)} KiB, heap ${per((r) => r.called.heapUsed)} KiB`,
    );
  }
  return rows.join('\n');
}

async function main(): Promise<void> {
  const upstreamProc = startProcess(node, [join(BENCH_DIR, 'upstream.ts')], { cpu: 0 });
  const upstreamPort = await readPort(upstreamProc, 'upstream');
  upstreamProc.stdout?.resume();
  upstreamProc.stderr?.resume();
  const upstream = `http://127.0.0.1:${upstreamPort}`;
  const results: RouteMemory[] = [];
  try {
    const roots = [process.env.BENCH_BASELINE_ROOT, REPO_ROOT].filter((r): r is string => !!r);
    for (const [root, routes] of roots.flatMap((root) => counts.map((n) => [root, n] as const))) {
      note(`route-memory: ${routes} routes (${root})…`);
      const r = await measure(routes, upstream, root);
      note(
        `route-memory: ${routes} routes: started in ${(r.startMs / 1000).toFixed(1)} s, RSS ${mib(r.idle.rss)} MiB, heap ${mib(r.idle.heapUsed)} MiB; after 10k requests RSS ${mib(r.called.rss)} MiB, heap ${mib(r.called.heapUsed)} MiB`,
      );
      results.push(r);
    }
  } finally {
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
  process.stdout.write(
    `${format(results)}\n\nmachine: ${cpus()[0]?.model}, ${cpus().length} CPUs; ${new Date().toISOString()}\n`,
  );
}

await runBench(main, () => rmSync(tmp, { recursive: true, force: true }));
