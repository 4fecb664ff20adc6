// Rollback time: the issue's target is "from the moment the candidate starts failing
// hard (all 5xx) at 1,000 requests/s, weight is 0 within 5 seconds". Cutover runs a
// route at the first rollout step (25%) under a steady open-loop load; the candidate
// is switched to answering 500 to everything, and the admin API is polled every
// 10 ms until the route's weight is 0. With BENCH_INSTANCES=N (issue 11) the route
// runs on N Cutover processes sharing a Redis the bench starts, the load is spread
// evenly over them, and a trial ends when the weight is 0 on every one of them.
// See bench/README.md, "Rollback time".
import { type ChildProcess, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BENCH_DIR, REPO_ROOT } from './cases.ts';
import { Admin, type RouteView, waitFor200 } from './lib/admin.ts';
import { intEnv } from './lib/env.ts';
import { SpreadLoad, Tally } from './lib/open-loop.ts';
import {
  freePort,
  pinning,
  readPort,
  runBench,
  startProcess,
  stopAll,
  stopProcess,
} from './lib/procs.ts';
import { type BenchRedis, startRedis } from './lib/redis.ts';
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
  // 1: one process, state in memory. N > 1: a fleet of N on one Redis (issue 11).
  instances: intEnv('BENCH_INSTANCES', 1, 1),
  // 0: the leader gets none of the load (its gates then read only the others'
  // published seconds, the fleet's slowest case); 1: an even share like the others.
  leaderLoad: intEnv('BENCH_LEADER_LOAD', 1, 0) > 0,
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
state: "${ports.state}"
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

interface Cutover {
  child: ChildProcess;
  port: number;
  admin: Admin;
  logFile: string;
}

async function startCutover(
  variant: VariantName,
  upstreams: { legacy: string; candidate: string },
  state: string,
  index: number,
): Promise<Cutover> {
  const [port, adminPort] = [await freePort(), await freePort()];
  const name = settings.instances > 1 ? `${variant}-${index + 1}` : variant;
  const configPath = join(tmp, `${name}.yaml`);
  writeFileSync(
    configPath,
    config(variant, { listen: port, admin: adminPort, state, ...upstreams }),
  );
  const stderrLog = join(tmp, `${name}.stderr.log`);
  const logFile = join(tmp, `${name}.log`);
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

/**
 * Back to 25% with a fresh gate window: reset (weight to the file's 0), then start,
 * through the first instance (in a fleet the store carries it to the others).
 */
async function restartRollout(admins: readonly Admin[], breaker: boolean): Promise<void> {
  // Started while a candidate breaker is still open, the rollout would hard-trip at once.
  // Breakers are each instance's own: wait for every one.
  if (breaker) {
    const closed = await Promise.all(
      admins.map((admin) =>
        admin.until(
          ROUTE,
          (r) => r.breakers.candidate?.state === 'closed',
          BREAKER_CLOSE_TIMEOUT_MS,
        ),
      ),
    );
    if (closed.some((c) => c === undefined))
      throw new Error(`a candidate breaker stayed open ${BREAKER_CLOSE_TIMEOUT_MS} ms`);
  }
  const [admin] = admins;
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
async function warmUp(n: number, admins: readonly Admin[], breaker: boolean, spurious: string[]) {
  for (let attempt = 0; attempt <= MAX_SPURIOUS; attempt++) {
    const ready = await Promise.all(admins.map((a) => a.until(ROUTE, atStep25, 15_000)));
    if (ready.some((r) => r === undefined))
      throw new Error(`trial ${n}: the route did not come to canary at 25% on every instance`);
    // A rollback anywhere reaches every instance: watching one is enough.
    const left = await admins[0].until(
      ROUTE,
      (r) => !atStep25(r),
      settings.warmupSeconds * 1000,
      250,
    );
    if (!left) return;
    const why = `${left.route.rollout?.state}: ${left.route.rollout?.reason}`;
    spurious.push(why);
    note(`trial ${n}: left 25% while healthy (${why}); restarting the rollout`);
    await restartRollout(admins, breaker);
  }
  throw new Error(`trial ${n}: rolled back while healthy ${MAX_SPURIOUS + 1} times in a row`);
}

async function runTrial(
  n: number,
  admins: readonly Admin[],
  load: SpreadLoad,
  candidate: string,
  breaker: boolean,
  spurious: string[],
): Promise<Trial> {
  await warmUp(n, admins, breaker, spurious);
  // The gates are checked once a second, and every trial's timeline starts from a
  // rollback taken at a check: without a random phase the fault would always begin at
  // the same point between two checks (measured: always 0.6–1 s before the next one).
  await sleep(Math.random() * 1000);
  const tally = new Tally();
  load.tally = tally;
  const t0 = performance.now();
  await fault(candidate, true);
  // Every instance polled every 10 ms: the trial ends when the last shows weight 0.
  const seen = await Promise.all(
    admins.map((a) => a.until(ROUTE, (r) => r.weight === 0, TRIAL_TIMEOUT_MS, 10)),
  );
  load.tally = new Tally();
  const all = seen.every((s) => s !== undefined);
  const times = seen.flatMap((s) => (s ? [s.at - t0] : []));
  const last = all ? seen.reduce((a, b) => (b!.at > a!.at ? b : a)) : undefined;
  return {
    n,
    ms: all ? Math.max(...times) : undefined,
    firstMs: admins.length > 1 && times.length > 0 ? Math.min(...times) : undefined,
    state: last?.route.rollout?.state ?? 'timeout',
    reason:
      last?.route.rollout?.reason ??
      `weight not 0 on ${seen.length - times.length} of ${seen.length} instance(s) after ${TRIAL_TIMEOUT_MS} ms`,
    tally,
  };
}

/** The instances' start, one after another: the first takes the lease and leads. */
async function startFleet(
  variant: VariantName,
  upstreams: { legacy: string; candidate: string },
): Promise<{
  cutovers: Cutover[];
  redis: BenchRedis | undefined;
  leader: string;
  leaderIndex: number;
}> {
  const redis = settings.instances > 1 ? await startRedis() : undefined;
  const cutovers: Cutover[] = [];
  try {
    for (let i = 0; i < settings.instances; i++) {
      cutovers.push(await startCutover(variant, upstreams, redis?.url ?? 'memory', i));
    }
    if (!redis) return { cutovers, redis, leader: 'the one process', leaderIndex: 0 };
    // Each registers as it starts; wait until the first sees them all (≤ 5 s).
    const deadline = Date.now() + 5000;
    for (;;) {
      const list = await cutovers[0].admin.instances();
      const leader = list.findIndex((i) => i.leader);
      if (list.length === settings.instances && leader !== -1) {
        const pid = list[leader].pid;
        const index = cutovers.findIndex((c) => c.child.pid === pid);
        return {
          cutovers,
          redis,
          leader: `instance ${index + 1} (pid ${pid})`,
          leaderIndex: index,
        };
      }
      if (Date.now() > deadline)
        throw new Error(`${list.length} of ${settings.instances} instances registered in 5 s`);
      await sleep(100);
    }
  } catch (error) {
    for (const c of cutovers) await stopProcess(c.child);
    await redis?.stop();
    throw error;
  }
}

async function runVariant(
  variant: VariantName,
  upstreams: { legacy: string; candidate: string },
): Promise<VariantResult> {
  const about = `${VARIANTS[variant].about}${
    settings.instances > 1
      ? settings.leaderLoad
        ? `; ${settings.instances} instances sharing one Redis, ${(settings.rate / settings.instances).toFixed(0)} requests/s each`
        : `; ${settings.instances} instances sharing one Redis, the leader given no load, ${(settings.rate / (settings.instances - 1)).toFixed(0)} requests/s to each of the others`
      : ''
  }`;
  note(`\n== ${variant}: ${about}`);
  const { cutovers, redis, leader, leaderIndex } = await startFleet(variant, upstreams);
  if (redis) note(`${variant}: ${cutovers.length} instances on ${redis.url}; leader ${leader}`);
  const loaded =
    redis && !settings.leaderLoad ? cutovers.filter((_, i) => i !== leaderIndex) : cutovers;
  const admins = cutovers.map((c) => c.admin);
  const load = new SpreadLoad(
    loaded.map((c) => `http://127.0.0.1:${c.port}`),
    '/api/v1/items',
    settings.rate,
  );
  const outside = new Tally();
  load.tally = outside;
  load.start();
  const trials: Trial[] = [];
  const spurious: string[] = [];
  const breaker = variant === 'breaker';
  let rates = { offered: 0, answered: 0 };
  try {
    for (let n = 1; n <= settings.trials; n++) {
      const trial = await runTrial(n, admins, load, upstreams.candidate, breaker, spurious);
      trials.push(trial);
      load.tally = outside;
      note(
        `${variant} trial ${n}/${settings.trials}: ${trial.ms === undefined ? 'TIMEOUT' : `${trial.ms.toFixed(0)} ms`}` +
          (admins.length > 1 && trial.firstMs !== undefined
            ? ` (first instance ${trial.firstMs.toFixed(0)} ms)`
            : '') +
          ` → ${trial.state}: ${trial.reason}; client non-2xx ${trial.tally.notOk} of ${trial.tally.sent}` +
          ` (${trial.tally.describe()})`,
      );
      await fault(upstreams.candidate, false);
      await restartRollout(admins, breaker);
    }
  } finally {
    rates = load.rates();
    await load.stop();
    for (const [i, cutover] of cutovers.entries()) {
      await stopProcess(cutover.child);
      // Warn lines are the rollbacks themselves; anything at error level is worth a look.
      const errors = readFileSync(cutover.logFile, 'utf8')
        .split('\n')
        .filter((l) => /"level":"?(50|60|error|fatal)/.test(l));
      if (errors.length > 0)
        note(`cutover ${i + 1} logged ${errors.length} error lines, e.g. ${errors[0]}`);
    }
    await redis?.stop();
  }
  return {
    variant: settings.instances > 1 ? `${variant} ×${settings.instances}` : variant,
    about,
    leader: redis ? `${leader}${settings.leaderLoad ? '' : ', given none of the load'}` : undefined,
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
  note(
    `bench: rollback time, ${settings.trials} trials × ${settings.variants.join(', ')}` +
      (settings.instances > 1 ? `, ${settings.instances} instances on one Redis` : ''),
  );
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
      settings:
        settings.instances > 1
          ? `${settings.trials} trials, ${settings.rate} requests/s open loop spread evenly over ${settings.leaderLoad ? settings.instances : `${settings.instances - 1} of the ${settings.instances}`} Cutover processes (the leader ${settings.leaderLoad ? 'among them' : 'not'}) sharing \`state: redis://…\` (one redis-server on CPU 0), ${settings.warmupSeconds} s warm-up at 25% per trial, every instance's admin polled every 10 ms (a trial ends when the last shows weight 0)`
          : `${settings.trials} trials, ${settings.rate} requests/s open loop, ${settings.warmupSeconds} s warm-up at 25% per trial, admin polled every 10 ms`,
      runSeconds: (Date.now() - began) / 1000,
      ...(settings.instances > 1
        ? {
            target: `candidate all-5xx at ${settings.rate} requests/s over ${settings.instances} instances → weight 0 on every instance within 2 s (issue 11), as one instance's`,
            targetMs: 2000,
          }
        : {
            target: `candidate all-5xx at ${settings.rate} requests/s → weight 0 within 5 s`,
            targetMs: 5000,
          }),
    })}\n`,
  );
}

function removeTmp(): void {
  if (process.env.BENCH_KEEP_TMP !== '1') rmSync(tmp, { recursive: true, force: true });
}

await runBench(main, removeTmp);
