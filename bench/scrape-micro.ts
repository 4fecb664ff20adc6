// What one /metrics scrape costs with N rolling routes (issue 10 § 3): a real
// Cutover (gateway, controller, admin registry) with N routes in canary, each
// side's sliding window filled with 30 s of traffic, timed in-process over
// `registry.metrics()` (the whole scrape) and `rollouts.statusAll()` (what
// `cutover status` and GET /api/rollouts cost). No checks run while timing
// (checkEvery 1h): a scrape's cost is its own. `rollout gauges` is the part of
// a scrape that the four rollout gauges cost. The rollouts are recorded as
// started a minute ago, so the gates read the whole 30 s window. Prints µs per call, median of
// ROUNDS rounds; each N runs in its own process.
// ROUTES=1,100,1000 ROUNDS=5 node bench/scrape-micro.ts
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCutover } from '../src/cli/run.ts';
import type { RolloutRecord } from '../src/rollout/index.ts';
import { openFleet } from '../src/state/index.ts';
import { createLogger, type SlidingWindow } from '../src/telemetry/index.ts';

const COUNTS = (process.env.ROUTES ?? '1,100,1000').split(',').map(Number);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const N = process.env.N === undefined ? undefined : Number(process.env.N);

if (N === undefined) {
  console.log(`node ${process.version}, ${ROUNDS} rounds; µs per call, median (best)`);
  console.log('routes  whole scrape  rollout gauges  statusAll');
  for (const n of COUNTS) {
    execFileSync(process.execPath, [import.meta.filename], {
      env: { ...process.env, N: String(n) },
      stdio: 'inherit',
    });
  }
  process.exit(0);
}

function yaml(n: number, state: string): string {
  const routes = Array.from(
    { length: n },
    (_, i) => `  - name: r${i}
    match: { path: /r${i}/* }
    legacy: legacy
    candidate: rewrite
    shadow: false
    rollout: { steps: [50, 100], shadowFor: 0s, interval: 1h, minRequests: 10, window: 30s }`,
  ).join('\n');
  // Nothing listens on port 9: no request is ever sent, the windows are filled directly.
  return `listen: 127.0.0.1:0
admin: { listen: 127.0.0.1:0 }
state: sqlite:${state}
log: { access: false }
rollouts: { checkEvery: 1h }
backends:
  legacy: { url: http://127.0.0.1:9 }
  rewrite: { url: http://127.0.0.1:9 }
routes:
${routes}
`;
}

/** 30 s of traffic in each side's window: 40 requests a second, a few slow, one error in 200. */
function fill(window: SlidingWindow, now: number): void {
  for (let s = 0; s < 30; s++) {
    for (let i = 0; i < 40; i++) {
      const k = s * 40 + i;
      const failed = k % 200 === 0;
      window.record(failed ? 500 : 200, k % 50 === 0 ? 250 : 5 + (k % 17), failed, now - s * 1000);
    }
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timeCalls(calls: number, fn: () => unknown): Promise<number[]> {
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await fn();
    rounds.push(((performance.now() - t0) * 1000) / calls);
  }
  return rounds;
}

/** Every route in canary at 50% since a minute ago, as a restart would find it. */
async function seed(path: string, n: number, now: number): Promise<void> {
  const store = openFleet(`sqlite:${path}`);
  const since = now - 60_000;
  const rec: RolloutRecord = {
    state: 'canary',
    step: 0,
    weight: 50,
    since,
    dataSince: since,
    pausedFrom: null,
    failures: 0,
    reason: 'seeded by bench/scrape-micro.ts',
    by: 'config',
  };
  for (let i = 0; i < n; i++) await store.set('rollout', `r${i}`, rec);
  await store.close();
}

const dir = mkdtempSync(join(tmpdir(), 'cutover-scrape-'));
const file = join(dir, 'cutover.yaml');
const statePath = join(dir, 'state.db');
writeFileSync(file, yaml(N, statePath));
await seed(statePath, N, Date.now());
const running = await startCutover(file, {
  watch: false,
  logger: createLogger({ level: 'silent', destination: join(dir, 'log.jsonl') }),
});
try {
  const now = Date.now();
  for (let i = 0; i < N; i++) {
    const figures = running.gateway.routeFigures(`r${i}`, 30_000);
    if (!figures) throw new Error(`route r${i} has no figures`);
    fill(figures.legacy as SlidingWindow, now);
    fill(figures.candidate as SlidingWindow, now);
  }
  // One check, so the cached results (where there are some) are filled as in a running gateway.
  await running.rollouts.tick();
  const metrics = running.metrics;
  const calls = Math.max(5, Math.round(2000 / N));
  const scrape = await timeCalls(calls, () => metrics.render());
  // The four rollout gauges alone, in the registry's order (state first).
  const gauges = ['state', 'weight', 'step', 'gate_value'].map((g) => `cutover_rollout_${g}`);
  const rollout = await timeCalls(calls, async () => {
    for (const name of gauges) await metrics.registry.getSingleMetricAsString(name);
  });
  const status = await timeCalls(calls, () => running.rollouts.statusAll());
  const fmt = (r: number[]) => `${median(r).toFixed(0)} (${Math.min(...r).toFixed(0)})`;
  console.log(
    `${String(N).padStart(6)}  ${fmt(scrape).padStart(12)}  ${fmt(rollout).padStart(14)}  ${fmt(status).padStart(9)}`,
  );
} finally {
  await running.close();
}
