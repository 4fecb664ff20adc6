// `npm run bench`: the upstream alone, then behind Cutover, a plain undici proxy,
// @fastify/http-proxy and nginx, in interleaved rounds, pinned to separate CPUs;
// with BENCH_SCALE, also Cutover with many routes, keys and idle connections
// (bench/scale.ts). See bench/README.md for the cases and the BENCH_* variables.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { allCases, BENCH_DIR, type BenchCase, REPO_ROOT, type Target } from './cases.ts';
import { intEnv } from './lib/env.ts';
import { chooseLoader, type FixedRateResult, fixedRateLoad, type Loader } from './lib/load.ts';
import { coreUse, NOISY, type Snapshot, snapshot } from './lib/noise.ts';
import {
  clockTicks,
  cpuTicks,
  isShuttingDown,
  pinning,
  readPort,
  runBench,
  startProcess,
  stopAll,
  which,
} from './lib/procs.ts';
import {
  formatFixedRate,
  formatPerRound,
  formatTable,
  type RunRecord,
  ratios,
  summarize,
} from './lib/report.ts';
import { runRounds, secondsPerRun } from './lib/rounds.ts';
import { formatScale, openFilesLimit, SCALE_SHAPES, scaleCases } from './scale.ts';

const settings = {
  rounds: intEnv('BENCH_ROUNDS', 3, 1),
  seconds: intEnv('BENCH_DURATION', 10, 1),
  // 5 s, not 2: measured here, a Node proxy left idle for ~40 s (while the other cases
  // run) needs 3–5 s of load to get back to its steady CPU/request (V8 shrinks an idle heap).
  warmupSeconds: intEnv('BENCH_WARMUP', 5, 0),
  // Once per case, before its first round: a fresh process's JIT and heap settle only
  // after 15–20 s of load (measured here: Cutover 107 → 72 µs/request over 25 s, the
  // plain proxy 81 → 62 over 10 s). Every case gets the same.
  settleSeconds: intEnv('BENCH_SETTLE', 15, 0),
  connections: intEnv('BENCH_CONNECTIONS', 50, 1),
  noisyRetries: intEnv('BENCH_NOISY_RETRIES', 1, 0),
  // The saturation rounds' p99 is queueing (50 connections as fast as the proxy
  // goes). This pass offers a fixed load every case carries (about a quarter of
  // Cutover's saturation here) and measures latency from when each request was
  // due: the p99 a user sees at a normal load. 0 turns the pass off.
  fixedRate: intEnv('BENCH_FIXED_RATE', 3000, 0),
  fixedSeconds: intEnv('BENCH_FIXED_DURATION', 10, 1),
  // Rounds of the fixed-rate pass, the order rotated each round: its CPU/request is
  // what the fleet cases compare (issue 11), and one window per case is one sample.
  fixedRounds: intEnv('BENCH_FIXED_ROUNDS', 1, 1),
  path: process.env.BENCH_PATH ?? '/api/v1/items',
  // '1': the scaling part after the usual cases; 'only': the scaling part alone.
  scale: process.env.BENCH_SCALE ?? '',
};
if (!['', '0', '1', 'only'].includes(settings.scale)) {
  throw new Error(`BENCH_SCALE must be 1 or only, got ${JSON.stringify(settings.scale)}`);
}

const isScale = (name: string) => name.startsWith('scale:');

function note(message: string): void {
  process.stderr.write(`${message}\n`);
}

function pick(all: BenchCase[], variable: string): BenchCase[] {
  const wanted = (process.env[variable] ?? all.map((c) => c.name).join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = wanted.filter((name) => !all.some((c) => c.name === name));
  if (unknown.length > 0) {
    throw new Error(
      `${variable}: unknown case ${unknown.join(', ')}; known: ${all.map((c) => c.name).join(', ')}`,
    );
  }
  return all.filter((c) => wanted.includes(c.name));
}

/** BENCH_CASES of the usual cases, then (with BENCH_SCALE) BENCH_SCALE_CASES of the scaling part. */
function selectCases(node: string, loader: Loader): BenchCase[] {
  const usual = settings.scale === 'only' ? [] : pick(allCases(), 'BENCH_CASES');
  if (settings.scale !== '1' && settings.scale !== 'only') return usual;
  // The scaling load spreads requests over routes and keys with a wrk script.
  const needsWrk = (c: BenchCase): BenchCase => ({
    ...c,
    unavailable: () =>
      loader.name === 'wrk' ? c.unavailable?.() : 'the scaling part needs wrk (BENCH_LOADER=wrk)',
  });
  return [...usual, ...pick(scaleCases(node), 'BENCH_SCALE_CASES').map(needsWrk)];
}

function version(command: string, args: string[]): string | undefined {
  // wrk --version exits 1 and nginx -v writes to stderr: take the first line printed.
  const { stdout, stderr } = spawnSync(command, args, { encoding: 'utf8' });
  return `${stdout ?? ''}${stderr ?? ''}`.trim().split('\n')[0] || undefined;
}

/** With the defaults, repeats of noisy runs stop once the run nears this long. */
const RETRY_BUDGET_SECONDS = 450;

/**
 * One case at the fixed rate: latency from when each request was due, and the case's
 * CPU time over exactly the measured window (the loader says when it begins and ends).
 */
async function fixedRatePass(
  node: string,
  name: string,
  target: Target,
  round: number,
): Promise<FixedRateResult | undefined> {
  const tag = `fixed rate${settings.fixedRounds > 1 ? ` round ${round}/${settings.fixedRounds}` : ''} ${name}`;
  note(`${tag}: ${settings.fixedRate} req/s for ${settings.fixedSeconds}s…`);
  let start: { ticks: number; machine: Snapshot } | undefined;
  let used: { ticks: number; noise: number | undefined } | undefined;
  try {
    const r = await fixedRateLoad(
      BENCH_DIR,
      node,
      {
        url: `http://127.0.0.1:${target.port}${settings.path}`,
        rate: settings.fixedRate,
        seconds: settings.fixedSeconds,
        warmup: 3,
      },
      (measuring) => {
        if (measuring) start = { ticks: cpuTicks(target.pids), machine: snapshot() };
        else if (start)
          used = {
            ticks: cpuTicks(target.pids) - start.ticks,
            noise: coreUse(start.machine, snapshot()).noisePercent,
          };
      },
    );
    const cpu = used && r.answered > 0 ? ((used.ticks / clockTicks) * 1e6) / r.answered : undefined;
    note(
      `${tag}: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(1)} ms, ` +
        `${cpu === undefined ? '-' : cpu.toFixed(1)} µs CPU/req (${target.cpuOf}), ${r.notOk} errors, ${r.dropped} not sent` +
        (used?.noise !== undefined && used.noise >= NOISY
          ? ` (noisy: other processes took ${used.noise.toFixed(0)}% of a core)`
          : ''),
    );
    return { ...r, round, cpuUsPerRequest: cpu, noisePercent: used?.noise };
  } catch (error) {
    note(`${tag}: ${(error as Error).message}`);
    return undefined;
  }
}

const tmpDirs: string[] = [];

function removeTmp(): void {
  for (const dir of tmpDirs.splice(0)) {
    if (process.env.BENCH_KEEP_TMP === '1') note(`bench: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const node = existsSync(join(REPO_ROOT, 'node_modules/.bin/node'))
    ? join(REPO_ROOT, 'node_modules/.bin/node')
    : process.execPath;
  const loader = chooseLoader(BENCH_DIR, node);
  const cases = selectCases(node, loader);
  const planned =
    cases.length * (settings.rounds * secondsPerRun(settings) + settings.settleSeconds) + 20;
  // Noisy runs are measured again only while the whole run stays within this.
  const deadline = Date.now() + Math.max(planned * 1.5, RETRY_BUDGET_SECONDS) * 1000;
  note(
    `bench: ${cases.map((c) => c.name).join(', ')}; ${settings.rounds} round(s) × ${settings.seconds}s ` +
      `(+${settings.warmupSeconds}s warm-up) at ${settings.connections} connections with ${loader.name}; ` +
      `about ${Math.ceil(planned / 60)} min`,
  );
  note(`bench: ${pinning.note}`);
  if (loader.name === 'autocannon') {
    note(
      'bench: wrk not found, using autocannon (heavier: it may limit req/s before the proxy does)',
    );
  }

  const tmp = mkdtempSync(join(tmpdir(), 'cutover-bench-'));
  tmpDirs.push(tmp);
  const targets = new Map<string, Target>();
  const failures = new Map<string, string>();
  const records: RunRecord[] = [];
  const fixedRate = new Map<string, FixedRateResult[]>();
  const facts: Record<string, unknown> = {};
  try {
    const upstreamProc = startProcess(node, [join(BENCH_DIR, 'upstream.ts')], { cpu: 0 });
    const upstreamPort = await readPort(upstreamProc, 'upstream');
    upstreamProc.stdout?.resume();
    upstreamProc.stderr?.resume();
    const upstream = `http://127.0.0.1:${upstreamPort}`;
    note(`bench: upstream on ${upstream} (pid ${upstreamProc.pid})`);

    for (const c of cases) {
      const reason = c.unavailable?.();
      if (reason) {
        note(`bench: skipping ${c.name}: ${reason}`);
        failures.set(c.name, `skipped: ${reason}`);
        continue;
      }
      const dir = join(tmp, c.name.replace(/[^A-Za-z0-9._-]/g, '_'));
      mkdirSync(dir, { recursive: true });
      note(`bench: starting ${c.name}…`);
      try {
        const target = await c.start({ upstream, upstreamPid: upstreamProc.pid!, node, dir });
        targets.set(c.name, target);
        note(`bench: ${c.name} on port ${target.port} (pid ${target.pids.join(', ')})`);
      } catch (error) {
        const message = (error as Error).message;
        failures.set(c.name, message);
        note(`bench: ${c.name} failed to start: ${message}`);
      }
    }

    const running = cases.filter((c) => targets.has(c.name));
    records.push(
      ...(await runRounds(
        settings,
        running.map((c) => {
          const target = targets.get(c.name)!;
          const url = `http://127.0.0.1:${target.port}${settings.path}`;
          return {
            name: c.name,
            pids: target.pids,
            cpuOf: target.cpuOf,
            upstreamPid: upstreamProc.pid!,
            load: (seconds: number) =>
              loader.run({ url, seconds, connections: settings.connections, ...target.load }),
          };
        }),
        deadline,
      )),
    );
    if (settings.fixedRate > 0) {
      // The scaling cases' routes answer /r<i>/…, not BENCH_PATH; their figures are the rounds'.
      const fixedCases = running.filter((x) => !isScale(x.name));
      for (let round = 1; round <= settings.fixedRounds; round++) {
        const shift = (round - 1) % Math.max(fixedCases.length, 1);
        for (const c of [...fixedCases.slice(shift), ...fixedCases.slice(0, shift)]) {
          if (isShuttingDown()) break;
          const result = await fixedRatePass(node, c.name, targets.get(c.name)!, round);
          if (result) fixedRate.set(c.name, [...(fixedRate.get(c.name) ?? []), result]);
        }
      }
    }
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
  const ratioList = ratios(records, names);
  const usual = summaries.filter((s) => !isScale(s.case));
  if (usual.length > 0) {
    process.stdout.write(`\n${formatTable(usual, ratioList)}\n`);
    if (settings.rounds > 1)
      process.stdout.write(
        `\n${formatPerRound(
          records,
          names.filter((n) => !isScale(n)),
        )}\n`,
      );
  }
  if (fixedRate.size > 0) process.stdout.write(`\n${formatFixedRate(fixedRate)}\n`);
  const scaled = summaries.filter((s) => isScale(s.case));
  if (scaled.length > 0) process.stdout.write(`\n${formatScale(scaled, records)}\n`);

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = join(BENCH_DIR, 'out');
  mkdirSync(outDir, { recursive: true });
  const outFile = join(outDir, `${stamp}.json`);
  const report = {
    date: new Date().toISOString(),
    machine: {
      cpuModel: cpus()[0]?.model,
      cpus: cpus().length,
      node: version(node, ['--version']),
      loader: loader.name === 'wrk' ? version('wrk', ['--version']) : 'autocannon',
      nginx: which('nginx') ? version('nginx', ['-v']) : undefined,
      pinning: pinning.note,
      clockTicks,
      openFiles: openFilesLimit(),
    },
    settings: { ...settings, cases: names, loader: loader.name, scaleShapes: SCALE_SHAPES },
    summary: summaries,
    ratios: ratioList,
    runs: records,
    fixedRate: Object.fromEntries(fixedRate),
    facts,
  };
  writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);
  note(`bench: wrote ${outFile}`);
}

await runBench(main, removeTmp);
