// Rollback time: the issue's target is "from the moment the candidate starts failing
// hard (all 5xx) at 1,000 requests/s, weight is 0 within 5 seconds". Cutover runs a
// route at the first rollout step (25%) under a steady open-loop load; the candidate
// is switched to answering 500 to everything, and the admin API is polled every
// 10 ms until the route's weight is 0. See bench/README.md, "Rollback time".
import { type ChildProcess, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BENCH_DIR, REPO_ROOT } from './cases.ts';
import { Admin, type RouteView, waitFor200 } from './lib/admin.ts';
import { intEnv } from './lib/env.ts';
import { OpenLoopLoad, Tally } from './lib/open-loop.ts';
import {
  freePort,
  pinning,
  readPort,
  runBench,
  startProcess,
  stopAll,
  stopProcess,
} from './lib/procs.ts';
import { formatSummary, type Trial, type VariantResult } from './lib/rollback-report.ts';

const VARIANTS = {
  // Defaults: the candidate's breaker opening is a hard trip, checked before the gates.
  breaker: { about: 'defaults (candidate breaker on)', backend: '{ url: "{{CANDIDATE}}" }' },
  // Only the error-rate gate (with failureLimit 2) can roll back.
  gates: {
    about: 'candidate breaker off (gates only)',
    backend: '{ url: "{{CANDIDATE}}", breaker: false }',
  },
} as const;
type VariantName = keyof typeof VARIANTS;

const settings = {
  trials: intEnv('BENCH_TRIALS', 10, 1),
  rate: intEnv('BENCH_RATE', 1000, 1),
  // ≥ 10 s so the gates' 30 s window holds healthy data when the fault starts.
  warmupSeconds: intEnv('BENCH_WARMUP', 12, 0),
  variants: (process.env.BENCH_VARIANT
    ? [process.env.BENCH_VARIANT]
    : ['breaker', 'gates']) as VariantName[],
};
for (const v of settings.variants) {
  if (!(v in VARIANTS)) throw new Error(`BENCH_VARIANT must be breaker or gates, got "${v}"`);
}
/** A rollback slower than this is recorded as a timeout (6× the target). */
const TRIAL_TIMEOUT_MS = 30_000;
/** An open breaker half-opens only on traffic or an idle probe after 2 × openFor (10 s). */
const BREAKER_CLOSE_TIMEOUT_MS = 40_000;
/** Rollbacks of the healthy candidate tolerated per trial before the run gives up. */
const MAX_SPURIOUS = 3;
const ROUTE = 'main';

const node = process.execPath;
const tmp = mkdtempSync(join(tmpdir(), 'cutover-rollback-'));

function note(message: string): void {
  process.stderr.write(`${message}\n`);
}

function config(variant: VariantName, ports: Record<string, number | string>): string {
  return `listen: "127.0.0.1:${ports.listen}"
admin: { listen: "127.0.0.1:${ports.admin}" }
state: memory
log: { access: false, level: warn }
backends:
  legacy: { url: "${ports.legacy}" }
  rewrite: ${VARIANTS[variant].backend.replace('{{CANDIDATE}}', String(ports.candidate))}
routes:
  - name: ${ROUTE}
    match: { path: "/*" }
    legacy: legacy
    candidate: rewrite
    rollout: { steps: [25, 100], shadowFor: 0s, interval: 1h }
`;
}

async function startUpstream(script: string, name: string): Promise<string> {
  const child = startProcess(node, [script], { cpu: 0, env: { ...process.env, PORT: '0' } });
  const port = await readPort(child, name);
  child.stdout?.resume();
  child.stderr?.resume();
  return `http://127.0.0.1:${port}`;
}

async function startCutover(
  variant: VariantName,
  upstreams: { legacy: string; candidate: string },
): Promise<{ child: ChildProcess; port: number; admin: Admin; logFile: string }> {
  const [port, adminPort] = [await freePort(), await freePort()];
  const configPath = join(tmp, `${variant}.yaml`);
  writeFileSync(configPath, config(variant, { listen: port, admin: adminPort, ...upstreams }));
  const stderrLog = join(tmp, `${variant}.stderr.log`);
  const logFile = join(tmp, `${variant}.log`);
  const err = openSync(stderrLog, 'w');
  const out = openSync(logFile, 'w');
  const child = startProcess(node, ['src/cli/main.ts', 'start', '-c', configPath], {
    cpu: 1,
    cwd: REPO_ROOT,
    stdio: ['ignore', out, err],
  });
  closeSync(err);
  closeSync(out);
  try {
    await waitFor200(`http://127.0.0.1:${adminPort}/healthz`, 15_000);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${readFileSync(stderrLog, 'utf8').slice(-3000)}`);
  }
  return { child, port, admin: new Admin(adminPort), logFile };
}

async function fault(candidate: string, on: boolean): Promise<void> {
  const res = await fetch(`${candidate}/__fault/${on ? 'on' : 'off'}`, {
    method: 'POST',
    signal: AbortSignal.timeout(2000),
  });
  if (res.status !== 204) throw new Error(`fault switch answered ${res.status}`);
}

const atStep25 = (r: RouteView): boolean => r.rollout?.state === 'canary' && r.weight === 25;

/** Back to 25% with a fresh gate window: reset (weight to the file's 0), then start. */
async function restartRollout(admin: Admin, breaker: boolean): Promise<void> {
  // Started while the candidate's breaker is still open, the rollout would hard-trip at once.
  if (breaker) {
    const closed = await admin.until(
      ROUTE,
      (r) => r.breakers.candidate?.state === 'closed',
      BREAKER_CLOSE_TIMEOUT_MS,
    );
    if (!closed)
      throw new Error(`the candidate breaker stayed open ${BREAKER_CLOSE_TIMEOUT_MS} ms`);
  }
  // The gate windows are one-second slots and a step reads from the slot its start falls
  // in: started within the second of the rollback, it would inherit the fault's errors.
  await sleep(1100);
  await admin.rollout(ROUTE, 'reset');
  await admin.rollout(ROUTE, 'start');
}

/**
 * Holds the route at 25% for the warm-up. A rollback of the healthy candidate (a gate
 * failing on noise) is counted, the rollout restarted and the warm-up begun again.
 */
async function warmUp(n: number, admin: Admin, breaker: boolean, spurious: string[]) {
  for (let attempt = 0; attempt <= MAX_SPURIOUS; attempt++) {
    const ready = await admin.until(ROUTE, atStep25, 15_000);
    if (!ready) throw new Error(`trial ${n}: the route did not come to canary at 25%`);
    const left = await admin.until(ROUTE, (r) => !atStep25(r), settings.warmupSeconds * 1000, 250);
    if (!left) return;
    const why = `${left.route.rollout?.state}: ${left.route.rollout?.reason}`;
    spurious.push(why);
    note(`trial ${n}: left 25% while healthy (${why}); restarting the rollout`);
    await restartRollout(admin, breaker);
  }
  throw new Error(`trial ${n}: rolled back while healthy ${MAX_SPURIOUS + 1} times in a row`);
}

async function runTrial(
  n: number,
  admin: Admin,
  load: OpenLoopLoad,
  candidate: string,
  breaker: boolean,
  spurious: string[],
): Promise<Trial> {
  await warmUp(n, admin, breaker, spurious);
  // The gates are checked once a second, and every trial's timeline starts from a
  // rollback taken at a check: without a random phase the fault would always begin at
  // the same point between two checks (measured: always 0.6–1 s before the next one).
  await sleep(Math.random() * 1000);
  const tally = new Tally();
  load.tally = tally;
  const t0 = performance.now();
  await fault(candidate, true);
  const seen = await admin.until(ROUTE, (r) => r.weight === 0, TRIAL_TIMEOUT_MS, 10);
  load.tally = new Tally();
  const ms = seen ? seen.at - t0 : undefined;
  return {
    n,
    ms,
    state: seen?.route.rollout?.state ?? 'timeout',
    reason: seen?.route.rollout?.reason ?? `weight not 0 after ${TRIAL_TIMEOUT_MS} ms`,
    tally,
  };
}

async function runVariant(
  variant: VariantName,
  upstreams: { legacy: string; candidate: string },
): Promise<VariantResult> {
  note(`\n== ${variant}: ${VARIANTS[variant].about}`);
  const cutover = await startCutover(variant, upstreams);
  const load = new OpenLoopLoad({
    origin: `http://127.0.0.1:${cutover.port}`,
    path: '/api/v1/items',
    rate: settings.rate,
  });
  const outside = new Tally();
  load.tally = outside;
  load.start();
  const trials: Trial[] = [];
  const spurious: string[] = [];
  const breaker = variant === 'breaker';
  let rates = { offered: 0, answered: 0 };
  try {
    for (let n = 1; n <= settings.trials; n++) {
      const trial = await runTrial(n, cutover.admin, load, upstreams.candidate, breaker, spurious);
      trials.push(trial);
      load.tally = outside;
      note(
        `${variant} trial ${n}/${settings.trials}: ${trial.ms === undefined ? 'TIMEOUT' : `${trial.ms.toFixed(0)} ms`}` +
          ` → ${trial.state}: ${trial.reason}; client non-2xx ${trial.tally.notOk} of ${trial.tally.sent}` +
          ` (${trial.tally.describe()})`,
      );
      await fault(upstreams.candidate, false);
      await restartRollout(cutover.admin, breaker);
    }
  } finally {
    rates = load.rates();
    await load.stop();
    await stopProcess(cutover.child);
    // Warn lines are the rollbacks themselves; anything at error level is worth a look.
    const errors = readFileSync(cutover.logFile, 'utf8')
      .split('\n')
      .filter((l) => /"level":"?(50|60|error|fatal)/.test(l));
    if (errors.length > 0) note(`cutover logged ${errors.length} error lines, e.g. ${errors[0]}`);
  }
  return {
    variant,
    about: VARIANTS[variant].about,
    trials,
    rates,
    outside,
    spurious,
  };
}

function version(command: string, args: string[]): string {
  const { stdout } = spawnSync(command, args, { encoding: 'utf8' });
  return (stdout ?? '').trim();
}

async function main(): Promise<void> {
  const began = Date.now();
  note(`bench: rollback time, ${settings.trials} trials × ${settings.variants.join(', ')}`);
  note(`bench: ${pinning.note}; temp dir ${tmp}`);
  const legacy = await startUpstream(join(BENCH_DIR, 'upstream.ts'), 'legacy upstream');
  const candidate = await startUpstream(join(BENCH_DIR, 'lib', 'fault-upstream.ts'), 'candidate');
  const results: VariantResult[] = [];
  for (const variant of settings.variants) {
    results.push(await runVariant(variant, { legacy, candidate }));
  }
  await stopAll();
  process.stdout.write(
    `\n${formatSummary(results, {
      date: new Date().toISOString(),
      machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Linux ${release()}`,
      node: version(node, ['--version']),
      pinning: pinning.note,
      settings: `${settings.trials} trials, ${settings.rate} requests/s open loop, ${settings.warmupSeconds} s warm-up at 25% per trial, admin polled every 10 ms`,
      runSeconds: (Date.now() - began) / 1000,
    })}\n`,
  );
}

function removeTmp(): void {
  if (process.env.BENCH_KEEP_TMP !== '1') rmSync(tmp, { recursive: true, force: true });
}

await runBench(main, removeTmp);
