// The Local fleet (src/state/sqlite.ts) in isolation: what one commit and one
// takeTokens cost, and how long each holds the event loop (node:sqlite is
// synchronous: the whole transaction runs on the caller's thread).
//
// 1. One process alone on the file: N commits of one key, N takeTokens, with
//    checkpoints on their own thread (the default) and inside commits.
// 2. The fsync a commit would pay with `synchronous = FULL` instead of the
//    NORMAL the fleet uses (a raw connection, the same one-row write).
// 3. WORKERS processes taking tokens from one bucket for DURATION ms each,
//    for each SQLite busy wait in WAITS (busyWaitMs): takes per second in all,
//    and the longest the event loop was held by one call.
//
// N=5000 DURATION=2000 WORKERS=2 WAITS=0,1,5 CHECKPOINT_MS=100 node bench/local-fleet-micro.ts
// (bounded: about 15 s with the defaults). DIR picks the directory of the file.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { LocalFleet } from '../src/state/index.ts';

const N = Number(process.env.N ?? 5000);
const DURATION = Number(process.env.DURATION ?? 2000);
const WORKERS = Number(process.env.WORKERS ?? 2);
const WAITS = (process.env.WAITS ?? '0,1,5').split(',').map(Number);
/** checkpointMs of the contended processes (0: SQLite checkpoints inside commits). */
const CHECKPOINT_MS = Number(process.env.CHECKPOINT_MS ?? 100);

interface Holds {
  /** Synchronous time of each call, µs: what it holds the event loop for (first attempt). */
  readonly sync: number[];
  /** Whole time of each call, µs, retries on timers included. */
  readonly whole: number[];
  /** Process CPU per call, µs (every thread): unlike wall time, not inflated by other work on the machine. */
  readonly cpu: number;
}

/** Times `n` awaited calls of `call`, each split into its synchronous part and its whole. */
async function timeCalls(n: number, call: (i: number) => Promise<unknown>): Promise<Holds> {
  const sync: number[] = [];
  const whole: number[] = [];
  const cpu = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    const pending = call(i);
    sync.push((performance.now() - start) * 1000);
    await pending;
    whole.push((performance.now() - start) * 1000);
  }
  const used = process.cpuUsage(cpu);
  return { sync, whole, cpu: (used.user + used.system) / n };
}

function line(label: string, t: Holds): void {
  console.log(`${label.padEnd(38)}${t.cpu.toFixed(1)} µs CPU/call; held ${quantiles(t.sync)}`);
}

function quantiles(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(1);
  const over = s.length - s.findIndex((x) => x > 1000);
  const slow = s[s.length - 1] > 1000 ? over : 0;
  return `p50 ${q(0.5)}  p99 ${q(0.99)}  p99.9 ${q(0.999)}  max ${s[s.length - 1].toFixed(1)} µs  (${slow} of ${s.length} > 1 ms)`;
}

async function worker(): Promise<void> {
  const [file, wait] = process.argv.slice(3);
  const fleet = new LocalFleet(file, { busyWaitMs: Number(wait), checkpointMs: CHECKPOINT_MS });
  process.send?.('ready');
  await once(process, 'message');
  const end = Date.now() + DURATION;
  const sync: number[] = [];
  const whole: number[] = [];
  let granted = 0;
  let wal = 0;
  while (Date.now() < end) {
    wal = Math.max(wal, statSync(`${file}-wal`).size);
    const t = await timeCalls(200, async () => {
      granted += (await fleet.takeTokens('shared', 1e9, 1e9, 1)).granted;
    });
    sync.push(...t.sync);
    whole.push(...t.whole);
  }
  await fleet.close();
  process.send?.({ sync, whole, granted, wal });
}

async function alone(dir: string): Promise<void> {
  // Both ways of checkpointing, alternately, so the machine's other work
  // falls on both alike: a thread of its own (the default), or SQLite inside
  // the commit that crosses 1,000 pages of log (checkpointMs: 0).
  const fleets = [
    { name: 'checkpoint thread', fleet: new LocalFleet(join(dir, 'thread.db')) },
    {
      name: 'checkpoint in commit',
      fleet: new LocalFleet(join(dir, 'inline.db'), { checkpointMs: 0 }),
    },
  ];
  for (const { fleet } of fleets) await timeCalls(500, (i) => fleet.set('warm', String(i % 50), i));
  const runs = new Map<string, Holds[]>();
  const record = (label: string, t: Holds) => runs.set(label, [...(runs.get(label) ?? []), t]);
  for (let round = 0; round < 4; round++) {
    for (const { name, fleet } of fleets) {
      record(
        `commit, one set, ${name}`,
        await timeCalls(N / 4, (i) => fleet.set('weight', `r${i % 100}`, i)),
      );
      record(
        `takeTokens, ${name}`,
        await timeCalls(N / 4, () => fleet.takeTokens('k', 1e9, 1e9, 1)),
      );
    }
  }
  for (const [label, ts] of runs) {
    const cpu = ts.reduce((s, t) => s + t.cpu, 0) / ts.length;
    line(label, { sync: ts.flatMap((t) => t.sync), whole: ts.flatMap((t) => t.whole), cpu });
  }
  const fleet = fleets[0].fleet;
  const now = await fleet.version();
  const recent = await timeCalls(N, () => fleet.changesSince(now - 10));
  line('changesSince, 10 behind', recent);
  // 1,000 behind: the whole kept feed read, the worst a poll reads before "reload".
  const far = await timeCalls(Math.ceil(N / 10), () => fleet.changesSince(now - 1000));
  line('changesSince, 1,000 behind', far);
  for (const { fleet } of fleets) await fleet.close();
}

function fsyncCost(dir: string): void {
  for (const mode of ['NORMAL', 'FULL']) {
    const db = new DatabaseSync(join(dir, `sync-${mode}.db`));
    db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${mode};
      CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID`);
    const put = db.prepare('INSERT OR REPLACE INTO t VALUES (?, ?)');
    db.exec('PRAGMA wal_autocheckpoint = 0');
    const times: number[] = [];
    for (let i = 0; i < Math.min(N, 1000); i++) {
      const start = performance.now();
      db.exec('BEGIN IMMEDIATE');
      put.run(`k${i % 100}`, i);
      db.exec('COMMIT');
      times.push((performance.now() - start) * 1000);
    }
    // What a commit that crosses wal_autocheckpoint (1,000 pages) also pays:
    // copying the log into the file, with its fsyncs.
    const start = performance.now();
    db.exec('PRAGMA wal_checkpoint(PASSIVE)');
    const checkpoint = ((performance.now() - start) * 1000).toFixed(1);
    db.close();
    console.log(`raw commit, synchronous=${mode.padEnd(6)}    ${quantiles(times)}`);
    console.log(`    checkpoint of those commits ${checkpoint} µs`);
  }
}

async function contended(dir: string, wait: number): Promise<void> {
  const file = join(dir, `contended-${wait}.db`);
  await new LocalFleet(file).close();
  const children = Array.from({ length: WORKERS }, () =>
    fork(import.meta.filename, ['worker', file, String(wait)]),
  );
  await Promise.all(children.map((c) => once(c, 'message')));
  const results = children.map(
    (c) =>
      once(c, 'message') as Promise<
        [{ sync: number[]; whole: number[]; granted: number; wal: number }]
      >,
  );
  for (const c of children) c.send('go');
  const all = (await Promise.all(results)).map(([r]) => r);
  await Promise.all(children.map((c) => (c.exitCode === null ? once(c, 'exit') : undefined)));
  const total = all.reduce((s, r) => s + r.granted, 0);
  const perSec = Math.round(total / (DURATION / 1000));
  console.log(
    `${WORKERS} processes, busyWaitMs ${String(wait).padEnd(2)}: ${perSec} takes/s in all\n` +
      `    event loop held per call ${quantiles(all.flatMap((r) => r.sync))}\n` +
      `    whole call               ${quantiles(all.flatMap((r) => r.whole))}\n` +
      `    log file, largest seen   ${(Math.max(...all.map((r) => r.wal)) / 2 ** 20).toFixed(1)} MiB`,
  );
}

if (process.argv[2] === 'worker') {
  await worker();
} else {
  const dir = mkdtempSync(join(process.env.DIR ?? tmpdir(), 'cutover-local-bench-'));
  try {
    console.log(`node ${process.version}, N=${N}, DURATION=${DURATION} ms, WORKERS=${WORKERS}`);
    await alone(dir);
    fsyncCost(dir);
    for (const wait of WAITS) await contended(dir, wait);
  } finally {
    rmSync(dir, { recursive: true });
  }
}
