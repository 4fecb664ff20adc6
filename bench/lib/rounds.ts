// Interleaved rounds of saturation runs, shared by bench/run.ts (HTTP/1.1) and
// bench/h2.ts (HTTP/2 and gRPC): each round runs every case once — a warm-up, then a
// measured window whose CPU time is read from /proc — rotating the order each round,
// and a run that other work on the machine made noisy is measured once more.
import type { LoadResult } from './load.ts';
import { coreUse, NOISY, snapshot } from './noise.ts';
import { clockTicks, cpuTicks, isShuttingDown, rssBytes } from './procs.ts';
import type { RunRecord } from './report.ts';

export interface RoundSettings {
  rounds: number;
  /** Seconds measured per case per round. */
  seconds: number;
  /** Unrecorded load before each measured window. */
  warmupSeconds: number;
  /** Extra unrecorded load before a case's first round only. */
  settleSeconds: number;
  /** How many times a noisy run is measured again. */
  noisyRetries: number;
}

export interface RoundCase {
  name: string;
  /** Processes whose CPU time is charged to the case (descendants included). */
  pids: readonly number[];
  cpuOf: 'proxy' | 'upstream';
  /** The upstream behind the case, whose CPU per request is recorded beside. */
  upstreamPid: number;
  /** One load generator run of `seconds` against the case. */
  load(seconds: number): Promise<LoadResult>;
}

function note(message: string): void {
  process.stderr.write(`${message}\n`);
}

export function isNoisy(record: RunRecord): boolean {
  return !record.error && (record.noisePercent ?? 0) >= NOISY;
}

/** The seconds one measured run takes, warm-up included (the settle excluded). */
export function secondsPerRun(s: RoundSettings): number {
  return s.seconds + s.warmupSeconds + 1;
}

/** One case's warm-up and measured window in one round. */
export async function measureRun(
  s: RoundSettings,
  round: number,
  c: RoundCase,
): Promise<RunRecord> {
  const tag = `round ${round}/${s.rounds} ${c.name}`;
  const base = { round, case: c.name, cpuOf: c.cpuOf };
  try {
    const warmup = s.warmupSeconds + (round === 1 ? s.settleSeconds : 0);
    if (warmup > 0) {
      note(`${tag}: warm-up ${warmup}s…`);
      await c.load(warmup);
    }
    note(`${tag}: ${s.seconds}s…`);
    const machineBefore = snapshot();
    const before = cpuTicks(c.pids);
    const upstreamBefore = cpuTicks([c.upstreamPid]);
    const load = await c.load(s.seconds);
    const ticks = cpuTicks(c.pids) - before;
    const rss = rssBytes(c.pids);
    const upstreamTicks = cpuTicks([c.upstreamPid]) - upstreamBefore;
    const cores = coreUse(machineBefore, snapshot());
    const perRequest = (t: number) =>
      load.requests > 0 ? ((t / clockTicks) * 1e6) / load.requests : Number.NaN;
    const record: RunRecord = {
      ...base,
      load,
      cpuUsPerRequest: perRequest(ticks),
      cpuPercent: (ticks / clockTicks / load.seconds) * 100,
      upstreamCpuUsPerRequest: perRequest(upstreamTicks),
      rssBytes: rss,
      ...cores,
    };
    note(
      `${tag}: ${load.rps.toFixed(0)} req/s, p50 ${load.p50Ms.toFixed(2)} ms, p99 ${load.p99Ms.toFixed(2)} ms, ` +
        `${record.cpuUsPerRequest!.toFixed(1)} µs CPU/req (${c.cpuOf}), RSS ${(rss / 2 ** 20).toFixed(0)} MiB, ` +
        `${load.non2xx + load.socketErrors} errors` +
        (isNoisy(record)
          ? ` (noisy: other processes on the machine took ${record.noisePercent!.toFixed(0)}% of a core)`
          : ''),
    );
    return record;
  } catch (error) {
    const message = (error as Error).message;
    note(`${tag}: failed: ${message}`);
    return { ...base, error: message };
  }
}

/**
 * Every round runs every case once, the order rotated each round so no case always runs
 * first (or right after another). A noisy run is measured again while the whole run
 * stays before `deadline` (ms since the epoch); the quieter of the two counts, the other
 * is kept in the records marked `replaced`.
 */
export async function runRounds(
  s: RoundSettings,
  cases: readonly RoundCase[],
  deadline: number,
): Promise<RunRecord[]> {
  const records: RunRecord[] = [];
  const perRun = secondsPerRun(s);
  let left = cases.length * s.rounds;
  for (let round = 1; round <= s.rounds; round++) {
    const shift = (round - 1) % Math.max(cases.length, 1);
    for (const c of [...cases.slice(shift), ...cases.slice(0, shift)]) {
      if (isShuttingDown()) break;
      left -= 1;
      let record = await measureRun(s, round, c);
      for (let retry = 0; retry < s.noisyRetries && isNoisy(record); retry++) {
        if (isShuttingDown() || Date.now() + perRun * (left + 1) * 1000 > deadline) break;
        note(`round ${round}/${s.rounds} ${c.name}: noisy, measuring again`);
        const again = await measureRun(s, round, c);
        const [kept, dropped] =
          again.error || (again.noisePercent ?? 0) >= (record.noisePercent ?? 0)
            ? [record, again]
            : [again, record];
        records.push({ ...dropped, replaced: true });
        record = kept;
      }
      records.push(record);
    }
  }
  return records;
}
