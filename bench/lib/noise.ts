// What else the machine did during a measured window: the busy share of CPU 0 and 1,
// and the CPU time of processes that are not the benchmark's own (noise).
import { type CoreTicks, coreTicks, ownTicks } from './procs.ts';

/** CPU taken by other processes on the machine, in % of one core, above which a run is flagged. */
export const NOISY = 5;

export interface Snapshot {
  cores: Map<number, CoreTicks>;
  /** This run's own processes: live ones plus reaped load generators. */
  ours: number;
}

export function snapshot(): Snapshot {
  return { cores: coreTicks(), ours: ownTicks() };
}

export interface CoreUse {
  core0BusyPercent: number | undefined;
  core1BusyPercent: number | undefined;
  /** CPU time of processes not started by the benchmark, in % of one core. */
  noisePercent: number | undefined;
}

/**
 * Busy share of CPU 0 and 1 over the window, and the CPU time that went to processes
 * other than this benchmark's own. Other work on the machine skews CPU/request even when
 * it runs on CPU 0 only: the load generator and upstream then feed the proxy unevenly.
 */
export function coreUse(before: Snapshot, after: Snapshot): CoreUse {
  const delta = (cpu: number) => {
    const a = before.cores.get(cpu);
    const b = after.cores.get(cpu);
    if (!a || !b || b.total === a.total) return undefined;
    return { tasks: b.tasks - a.tasks, busy: b.busy - a.busy, total: b.total - a.total };
  };
  const all = [...after.cores.keys()].map(delta);
  const tasks = all.reduce((sum, d) => sum + (d?.tasks ?? 0), 0);
  const window = all[0]?.total;
  const [c0, c1] = [delta(0), delta(1)];
  return {
    core0BusyPercent: c0 ? (c0.busy / c0.total) * 100 : undefined,
    core1BusyPercent: c1 ? (c1.busy / c1.total) * 100 : undefined,
    noisePercent: window
      ? Math.max(0, ((tasks - (after.ours - before.ours)) / window) * 100)
      : undefined,
  };
}
