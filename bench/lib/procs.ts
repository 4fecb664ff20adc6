// Child processes for the benchmark: started pinned to a CPU, tracked by PID so that
// every one of them is ended on the way out, and their CPU time read from /proc.
import { type ChildProcess, execFileSync, type StdioOptions, spawn } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Full path of an executable on PATH, or undefined. */
export function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/**
 * Pinning needs taskset and a second core: the load generator and the upstream share
 * CPU 0 so the proxy under test has CPU 1 to itself. BENCH_PIN=0 turns it off.
 */
export const pinning: { enabled: boolean; note: string } = (() => {
  if (process.env.BENCH_PIN === '0')
    return { enabled: false, note: 'CPU pinning off (BENCH_PIN=0)' };
  if (!which('taskset')) return { enabled: false, note: 'CPU pinning off: taskset not found' };
  if (availableParallelism() < 2)
    return { enabled: false, note: 'CPU pinning off: fewer than 2 CPUs' };
  return { enabled: true, note: 'load generator + upstream on CPU 0, proxy under test on CPU 1' };
})();

const live = new Set<ChildProcess>();
let shuttingDown = false;

/** After this no process starts any more (a signal came in, the run is ending). */
export function beginShutdown(): void {
  shuttingDown = true;
}

export function isShuttingDown(): boolean {
  return shuttingDown;
}

export interface SpawnOptions {
  /** CPU to pin the process to (ignored when pinning is off). */
  cpu: 0 | 1;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  stdio?: StdioOptions;
}

/** Starts a process (through `taskset -c N`, which execs, so the PID is the program's own). */
export function startProcess(
  command: string,
  args: readonly string[],
  opts: SpawnOptions,
): ChildProcess {
  if (shuttingDown) throw new Error('the benchmark is stopping');
  const [file, argv] = pinning.enabled
    ? ['taskset', ['-c', String(opts.cpu), command, ...args]]
    : [command, [...args]];
  const child = spawn(file, argv, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  // A spawn failure (ENOENT) must not crash the run; the caller sees the exit.
  child.on('error', () => {});
  return child;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGTERM by PID, then SIGKILL after `graceMs`. */
export async function stopProcess(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (exited(child) || child.pid === undefined) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = sleep(graceMs).then(() => 'timeout' as const);
  if ((await Promise.race([gone, timer])) === 'timeout' && !exited(child)) {
    child.kill('SIGKILL');
    await Promise.race([gone, sleep(1000)]);
  }
}

/** Ends every process this run started that is still alive. */
export async function stopAll(): Promise<void> {
  beginShutdown();
  await Promise.all([...live].map((child) => stopProcess(child)));
}

/** Kills what is left without waiting: for process 'exit', where nothing async runs. */
export function killAllNow(): void {
  for (const child of live) if (!exited(child)) child.kill('SIGKILL');
}

/** Waits for the first stdout line of a bench server: {"port":N}. */
export function readPort(child: ChildProcess, name: string, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let stderr = '';
    const timer = setTimeout(
      () => finish(new Error(`${name} did not report its port in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const nl = buffered.indexOf('\n');
      if (nl === -1) return;
      try {
        const { port } = JSON.parse(buffered.slice(0, nl)) as { port: number };
        finish(undefined, port);
      } catch {
        finish(
          new Error(
            `${name} printed ${JSON.stringify(buffered.slice(0, nl))}, expected {"port":N}`,
          ),
        );
      }
    };
    const onErr = (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    };
    const onExit = (code: number | null) =>
      finish(
        new Error(`${name} exited (code ${code}) before listening${stderr ? `:\n${stderr}` : ''}`),
      );
    function finish(err: Error | undefined, port?: number) {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(port!);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onErr);
    child.once('exit', onExit);
  });
}

/** A port free right now on 127.0.0.1, for servers that must be told one up front. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = address && typeof address === 'object' ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Clock ticks per second, the unit of /proc/<pid>/stat CPU times. */
export const clockTicks: number = (() => {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return value > 0 ? value : 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  ppid: number;
  ticks: number;
  /** CPU time of children already waited for (cutime + cstime). */
  reapedTicks: number;
}

function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
  return {
    ppid: Number(fields[1]),
    ticks: Number(fields[11]) + Number(fields[12]),
    reapedTicks: Number(fields[13]) + Number(fields[14]),
  };
}

/** The PIDs given plus all their descendants (nginx workers, cluster workers). */
export function withDescendants(pids: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = procStat(pid);
    if (!stat) continue;
    const list = children.get(stat.ppid);
    if (list) list.push(pid);
    else children.set(stat.ppid, [pid]);
  }
  const all: number[] = [];
  const queue = [...pids];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (all.includes(pid)) continue;
    all.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return all;
}

/** user+system CPU time, in clock ticks, summed over the PIDs and their descendants. */
export function cpuTicks(pids: readonly number[]): number {
  let total = 0;
  for (const pid of withDescendants(pids)) total += procStat(pid)?.ticks ?? 0;
  return total;
}

/**
 * CPU ticks of this process, its live descendants, and the children it has already
 * reaped (a load generator that exited inside a window is counted through them).
 */
export function ownTicks(): number {
  return cpuTicks([process.pid]) + (procStat(process.pid)?.reapedTicks ?? 0);
}

export interface CoreTicks {
  /** user + nice + system: time spent running processes. */
  tasks: number;
  /** Everything not idle or iowait (adds irq, softirq, steal). */
  busy: number;
  total: number;
}

/** Per-CPU counters from /proc/stat, keyed by CPU number. */
export function coreTicks(): Map<number, CoreTicks> {
  const out = new Map<number, CoreTicks>();
  let text = '';
  try {
    text = readFileSync('/proc/stat', 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = m[2]
      .trim()
      .split(/\s+/)
      .map(Number);
    out.set(Number(m[1]), {
      tasks: user + nice + system,
      busy: user + nice + system + irq + softirq + (steal ?? 0),
      total: user + nice + system + idle + iowait + irq + softirq + (steal ?? 0),
    });
  }
  return out;
}

/**
 * Runs a bench's `main` so that its children end, by PID, on every way out:
 * success, an error (exit code 1), SIGINT/SIGTERM (exit 130) or process exit.
 * `cleanup` (temp files) runs after the children have stopped.
 */
export async function runBench(main: () => Promise<void>, cleanup: () => void): Promise<void> {
  const note = (message: string) => process.stderr.write(`${message}\n`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      beginShutdown();
      note(`bench: ${signal}, stopping children…`);
      void stopAll().finally(() => {
        cleanup();
        process.exit(130);
      });
    });
  }
  process.once('exit', killAllNow);
  try {
    await main();
  } catch (error) {
    note(`bench: ${(error as Error).stack ?? error}`);
    process.exitCode = 1;
  } finally {
    await stopAll();
    cleanup();
  }
}

/** Resident memory (VmRSS) of the PIDs and their descendants, in bytes. */
export function rssBytes(pids: readonly number[]): number {
  let total = 0;
  for (const pid of withDescendants(pids)) {
    try {
      const line = readFileSync(`/proc/${pid}/status`, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('VmRSS:'));
      total += Number(line?.match(/\d+/)?.[0] ?? 0) * 1024;
    } catch {}
  }
  return total;
}
