// `node bench/workers.ts`: Cutover as one process, then with `server.workers: 2`
// sharing the gateway port the two ways Node offers — the cluster module (the
// primary accepts and hands connections round-robin) and SO_REUSEPORT (each
// worker binds the port, the kernel hashes connections to them) — under the same
// keep-alive load, in one run; then how each splits fresh sets of connections,
// and one window where every request opens a new connection (churn). Per case:
// req/s, p99, and for each worker its connections (/proc/net/tcp), its share
// of the requests (its access lines) and of the CPU (/proc), so that "balances
// better" is read from numbers. The ratios are against one process.
// Nothing is pinned: the workers need both cores, so the load generator and the
// upstream share them too (as on any 2-core machine running everything).
// Env: BENCH_DURATION (6 s), BENCH_WARMUP (3 s), BENCH_CONNECTIONS (50),
// BENCH_ROUNDS (2), BENCH_SPREAD_SAMPLES (5), BENCH_CHURN_DURATION (5 s; wrk only),
// BENCH_LOADER (wrk | autocannon).
// About 100 s with the defaults (under 2 minutes).
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

// Before procs.ts reads it: this bench wants the scheduler to place everything.
process.env.BENCH_PIN ??= '0';
const { intEnv } = await import('./lib/env.ts');
const { chooseLoader } = await import('./lib/load.ts');
const procs = await import('./lib/procs.ts');

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH_DIR);
const NODE = existsSync(join(ROOT, 'node_modules/.bin/node'))
  ? join(ROOT, 'node_modules/.bin/node')
  : process.execPath;

const settings = {
  seconds: intEnv('BENCH_DURATION', 6, 1),
  warmupSeconds: intEnv('BENCH_WARMUP', 3, 0),
  connections: intEnv('BENCH_CONNECTIONS', 50, 1),
  rounds: intEnv('BENCH_ROUNDS', 2, 1),
  /** Fresh sets of connections opened per two-worker case, to read how they are split. */
  spreadSamples: intEnv('BENCH_SPREAD_SAMPLES', 5, 0),
  /** One window per case where every request opens a new connection (wrk only; 0: none). */
  churnSeconds: intEnv('BENCH_CHURN_DURATION', 5, 0),
};

interface Case {
  name: string;
  workers: number;
  /** CUTOVER_WORKERS_LISTENER for the primary (src/cli/workers.ts). */
  listener?: 'cluster' | 'reuseport';
}

const CASES: Case[] = [
  { name: 'one process', workers: 1 },
  { name: 'cluster ×2', workers: 2, listener: 'cluster' },
  { name: 'reuseport ×2', workers: 2, listener: 'reuseport' },
];

interface WorkerFigures {
  pid: number;
  /** Client connections it held, read half-way through the window. */
  connections: number;
  requests: number;
  cpuPercent: number;
}

interface CaseResult {
  name: string;
  shape: LoadShape;
  round: number;
  rps: number;
  p99Ms: number;
  errors: number;
  workers: WorkerFigures[];
  /** The primary's own CPU (cluster: accepting and handing connections over). */
  primaryCpuPercent: number;
  totalCpuPercent: number;
  /** CPU that processes other than this benchmark's took in the window, in % of one core. */
  noisePercent: number;
}

/** CPU time spent running any process, all cores, in clock ticks. */
const machineTicks = () => [...procs.coreTicks().values()].reduce((a, c) => a + c.tasks, 0);

function configText(c: Case, port: number, adminPort: number, upstream: string, dir: string) {
  return `listen: "127.0.0.1:${port}"
admin: { listen: "127.0.0.1:${adminPort}" }
state: "sqlite:${dir}/state.db"
log: { level: info, access: true }
server: { workers: ${c.workers} }
backends:
  legacy: { url: "${upstream}" }
  rewrite: { url: "${upstream}" }
routes:
  - name: bench
    match: { path: "/*" }
    legacy: legacy
    candidate: rewrite
    split: { stickyKey: "header:x-user-id" }
    weight: 50
`;
}

/** The line Cutover logs once it serves (the primary's, with its workers' pids). */
async function listeningLine(log: string, exited: () => boolean): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && !exited()) {
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    const line = text.split('\n').find((l) => l.includes('"cutover listening on'));
    if (line) return JSON.parse(line) as Record<string, unknown>;
    await sleep(50);
  }
  throw new Error(`Cutover did not log "cutover listening on" (see ${log})`);
}

/** Access lines per pid in bytes [from, to) of the log. */
function accessLinesByPid(log: string, from: number, to: number): Map<number, number> {
  const counts = new Map<number, number>();
  const text = readFileSync(log).subarray(from, to).toString('utf8');
  for (const line of text.split('\n')) {
    if (!line.includes('"msg":"access"')) continue;
    const m = /"pid":(\d+)/.exec(line);
    if (m) counts.set(Number(m[1]), (counts.get(Number(m[1])) ?? 0) + 1);
  }
  return counts;
}

const fileSize = (path: string) => readFileSync(path).length;

/**
 * Established client connections each process holds on the gateway port: the
 * balancer's own decision, apart from how fast each worker then serves them.
 * Socket inodes from /proc/net/tcp (local port = the gateway's) matched to fds.
 */
function connectionsByPid(pids: readonly number[], port: number): number[] {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // f[1] local address:port, f[3] state (01 = ESTABLISHED), f[9] inode
    if (f.length > 9 && f[1].endsWith(`:${hexPort}`) && f[3] === '01') inodes.add(f[9]);
  }
  return pids.map((pid) => {
    let n = 0;
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1])) n += 1;
      } catch {}
    }
    return n;
  });
}

interface Running {
  case: Case;
  port: number;
  log: string;
  primaryPid: number;
  workerPids: number[];
  stop(): Promise<void>;
}

async function startCase(c: Case, upstream: string, dir: string): Promise<Running> {
  const [port, adminPort] = [await procs.freePort(), await procs.freePort()];
  const configPath = join(dir, `${c.workers}-${c.listener ?? 'one'}.yaml`);
  writeFileSync(configPath, configText(c, port, adminPort, upstream, dir));
  const log = `${configPath}.log`;
  const out = openSync(log, 'w');
  const child = procs.startProcess(NODE, ['src/cli/main.ts', 'start', '-c', configPath], {
    cpu: 1,
    cwd: ROOT,
    env: { ...process.env, ...(c.listener ? { CUTOVER_WORKERS_LISTENER: c.listener } : {}) },
    stdio: ['ignore', out, 'inherit'],
  });
  closeSync(out);
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const line = await listeningLine(log, exited);
  return {
    case: c,
    port,
    log,
    primaryPid: child.pid!,
    workerPids:
      c.workers === 1 ? [child.pid!] : (line.workers as { pid: number }[]).map((w) => w.pid),
    stop: () => procs.stopProcess(child, 15_000),
  };
}

/** Keep-alive: connections opened once; churn: a new connection for every request. */
type LoadShape = 'keep-alive' | 'churn';

async function measure(
  r: Running,
  loader: ReturnType<typeof chooseLoader>,
  round: number,
  shape: LoadShape = 'keep-alive',
): Promise<CaseResult> {
  const { port, log, workerPids, primaryPid } = r;
  const url = `http://127.0.0.1:${port}/api/v1/items`;
  const windowSeconds = shape === 'churn' ? settings.churnSeconds : settings.seconds;
  const env = shape === 'churn' ? { BENCH_CONNECTION_CLOSE: '1' } : undefined;
  if (settings.warmupSeconds > 0 && shape === 'keep-alive') {
    process.stderr.write(`round ${round} ${r.case.name}: warm-up ${settings.warmupSeconds}s…\n`);
    await loader.run({ url, seconds: settings.warmupSeconds, connections: settings.connections });
  }
  await sleep(300); // the warm-up's last access lines reach the file (100 ms flush)
  const before = {
    bytes: fileSize(log),
    primary: procs.cpuTicks([primaryPid]),
    workers: workerPids.map((pid) => procs.cpuTicks([pid])),
    machine: machineTicks(),
    ours: procs.ownTicks(),
    at: performance.now(),
  };
  process.stderr.write(`round ${round} ${r.case.name} (${shape}): ${windowSeconds}s…\n`);
  const loading = loader.run({
    url,
    seconds: windowSeconds,
    connections: settings.connections,
    env,
  });
  await sleep((windowSeconds * 1000) / 2);
  const connections = connectionsByPid(workerPids, port);
  const load = await loading;
  const seconds = (performance.now() - before.at) / 1000;
  const ticksNow = workerPids.map((pid) => procs.cpuTicks([pid]));
  const primaryNow = procs.cpuTicks([primaryPid]);
  const noiseTicks = machineTicks() - before.machine - (procs.ownTicks() - before.ours);
  await sleep(300);
  const lines = accessLinesByPid(log, before.bytes, fileSize(log));
  const percent = (ticks: number) => (100 * ticks) / procs.clockTicks / seconds;
  const workers = workerPids.map((pid, i) => ({
    pid,
    connections: connections[i],
    requests: lines.get(pid) ?? 0,
    cpuPercent: percent(ticksNow[i] - before.workers[i]),
  }));
  const workerTicks =
    ticksNow.reduce((a, b) => a + b, 0) - before.workers.reduce((a, b) => a + b, 0);
  const primaryTicks = r.case.workers === 1 ? 0 : primaryNow - before.primary - workerTicks;
  return {
    name: r.case.name,
    shape,
    round,
    rps: load.rps,
    p99Ms: load.p99Ms,
    errors: load.non2xx + load.socketErrors,
    workers,
    primaryCpuPercent: percent(primaryTicks),
    totalCpuPercent: percent(workerTicks + primaryTicks),
    noisePercent: Math.max(0, percent(noiseTicks)),
  };
}

/** Smallest over largest: 1 is a perfect spread. */
const evenness = (values: number[]) =>
  values.length < 2 ? 1 : Math.min(...values) / Math.max(...values);

/**
 * How each way splits a fresh set of connections: the loader runs 1 s, the
 * connections each worker holds are read half-way, `samples` times.
 */
async function connectionSpread(
  r: Running,
  loader: ReturnType<typeof chooseLoader>,
): Promise<number[][]> {
  const url = `http://127.0.0.1:${r.port}/api/v1/items`;
  const splits: number[][] = [];
  for (let i = 0; i < settings.spreadSamples; i++) {
    const loading = loader.run({ url, seconds: 1, connections: settings.connections });
    await sleep(500);
    const split = connectionsByPid(r.workerPids, r.port);
    // On a busy machine the loader may not have connected yet: no reading then.
    if (split.some((n) => n > 0)) splits.push(split);
    await loading;
  }
  return splits;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function formatRows(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join('  ')).join('\n');
}

/** req/s of the case over one process's in the same round. */
function vsOne(results: CaseResult[], r: CaseResult): number {
  const one = results.find((x) => x.round === r.round && x.workers.length === 1);
  return one ? r.rps / one.rps : Number.NaN;
}

function report(results: CaseResult[], loaderName: string): string {
  const rows = [
    [
      'round',
      'case',
      'req/s',
      'p99 ms',
      'errors',
      'connections per worker',
      'requests per worker',
      'CPU % per worker',
      'primary CPU %',
      'req evenness',
      'CPU evenness',
      'req/s vs one',
      'noise %',
    ],
  ];
  for (const r of results) {
    const total = r.workers.reduce((a, w) => a + w.requests, 0) || 1;
    rows.push([
      String(r.round),
      r.name,
      r.rps.toFixed(0),
      r.p99Ms.toFixed(1),
      String(r.errors),
      r.workers.map((w) => String(w.connections)).join(' / '),
      r.workers.map((w) => `${((100 * w.requests) / total).toFixed(1)}%`).join(' / '),
      r.workers.map((w) => w.cpuPercent.toFixed(0)).join(' / '),
      r.workers.length === 1 ? '-' : r.primaryCpuPercent.toFixed(1),
      evenness(r.workers.map((w) => w.requests)).toFixed(3),
      evenness(r.workers.map((w) => w.cpuPercent)).toFixed(3),
      `${vsOne(results, r).toFixed(2)}×`,
      r.noisePercent.toFixed(0),
    ]);
  }
  const summary = [
    ['case (median of rounds)', 'req/s', 'req/s vs one', 'req evenness', 'CPU evenness', 'noise %'],
  ];
  for (const c of CASES) {
    const mine = results.filter((r) => r.name === c.name);
    summary.push([
      c.name,
      median(mine.map((r) => r.rps)).toFixed(0),
      `${median(mine.map((r) => vsOne(results, r))).toFixed(2)}×`,
      median(mine.map((r) => evenness(r.workers.map((w) => w.requests)))).toFixed(3),
      median(mine.map((r) => evenness(r.workers.map((w) => w.cpuPercent)))).toFixed(3),
      median(mine.map((r) => r.noisePercent)).toFixed(0),
    ]);
  }
  return `${formatRows(rows)}\n\n${formatRows(summary)}\n\nload: ${loaderName}, ${settings.connections} keep-alive connections, ${settings.rounds} rounds of ${settings.seconds} s after ${settings.warmupSeconds} s of warm-up each; evenness = smallest / largest worker; noise = CPU other processes took, in % of one core\n`;
}

function churnReport(results: CaseResult[]): string {
  const rows = [
    [
      'case (churn)',
      'req/s',
      'p99 ms',
      'errors',
      'requests per worker',
      'CPU % per worker',
      'primary CPU %',
      'req/s vs one',
      'noise %',
    ],
  ];
  for (const r of results) {
    const total = r.workers.reduce((a, w) => a + w.requests, 0) || 1;
    rows.push([
      r.name,
      r.rps.toFixed(0),
      r.p99Ms.toFixed(1),
      String(r.errors),
      r.workers.map((w) => `${((100 * w.requests) / total).toFixed(1)}%`).join(' / '),
      r.workers.map((w) => w.cpuPercent.toFixed(0)).join(' / '),
      r.workers.length === 1 ? '-' : r.primaryCpuPercent.toFixed(1),
      `${vsOne(results, r).toFixed(2)}×`,
      r.noisePercent.toFixed(0),
    ]);
  }
  return `\n${formatRows(rows)}\n\nchurn: Connection: close on every request (a new connection each), ${settings.connections} at a time, ${settings.churnSeconds} s, no warm-up\n`;
}

await procs.runBench(
  async () => {
    const loader = chooseLoader(BENCH_DIR, NODE);
    const upstreamChild = procs.startProcess(NODE, [join(BENCH_DIR, 'upstream.ts')], {
      cpu: 0,
      env: { ...process.env, PORT: '0' },
    });
    const upstream = `http://127.0.0.1:${await procs.readPort(upstreamChild, 'upstream')}`;
    upstreamChild.stdout?.resume();
    upstreamChild.stderr?.resume();
    const dir = mkdtempSync(join(tmpdir(), 'cutover-bench-workers-'));
    try {
      // All three run from the start; an idle one costs nothing while the others are measured.
      const running: Running[] = [];
      for (const c of CASES) running.push(await startCase(c, upstream, dir));
      const results: CaseResult[] = [];
      for (let round = 1; round <= settings.rounds; round++) {
        // Rotate the order each round, so no case always comes first (or after the same one).
        const order = running.map((_, i) => running[(i + round - 1) % running.length]);
        for (const r of order) results.push(await measure(r, loader, round));
      }
      const churn: CaseResult[] = [];
      if (settings.churnSeconds > 0 && loader.name === 'wrk') {
        for (const r of running) churn.push(await measure(r, loader, 1, 'churn'));
      }
      const spreads = new Map<string, number[][]>();
      for (const r of running) {
        if (r.workerPids.length < 2 || settings.spreadSamples === 0) continue;
        process.stderr.write(`${r.case.name}: ${settings.spreadSamples} sets of connections…\n`);
        spreads.set(r.case.name, await connectionSpread(r, loader));
      }
      for (const r of running) await r.stop();
      process.stdout.write(report(results, loader.name));
      if (churn.length > 0) process.stdout.write(churnReport(churn));
      for (const [name, splits] of spreads) {
        const even = splits.map(evenness);
        process.stdout.write(
          `${name}: connections per worker over ${splits.length} fresh sets of ${settings.connections}: ${splits.map((s) => s.join('/')).join(', ')}; evenness median ${median(even).toFixed(3)}, worst ${Math.min(...even).toFixed(3)}\n`,
        );
      }
      process.stdout.write(
        `${JSON.stringify({ date: new Date().toISOString(), settings, results, churn, spreads: Object.fromEntries(spreads) })}\n`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  () => {},
);
