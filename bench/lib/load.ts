// The load generator: wrk when it is installed (lighter, so the proxy is what limits),
// otherwise autocannon from devDependencies. Either runs in its own process on CPU 0.

import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startProcess, stopProcess, which } from './procs.ts';

export interface LoadResult {
  /** Responses received in the window (any status). */
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses outside 2xx (wrk: outside 2xx/3xx). */
  non2xx: number;
  /** Connect, read, write errors and timeouts. */
  socketErrors: number;
}

export interface LoadOptions {
  url: string;
  seconds: number;
  connections: number;
  /** wrk only: variables for bench/wrk-load.lua (the scaling part's routes and keys). */
  env?: Readonly<Record<string, string>>;
}

export type LoaderName = 'wrk' | 'autocannon';

export interface Loader {
  name: LoaderName;
  run(opts: LoadOptions): Promise<LoadResult>;
}

/** BENCH_LOADER=wrk|autocannon forces one; otherwise wrk when on PATH. */
export function chooseLoader(benchDir: string, node: string): Loader {
  const wanted = process.env.BENCH_LOADER;
  if (wanted && wanted !== 'wrk' && wanted !== 'autocannon') {
    throw new Error(`BENCH_LOADER must be wrk or autocannon, got ${JSON.stringify(wanted)}`);
  }
  const wrk = which('wrk');
  if (wanted === 'wrk' && !wrk) throw new Error('BENCH_LOADER=wrk but wrk is not on PATH');
  if (wrk && wanted !== 'autocannon') {
    const script = join(benchDir, 'wrk-load.lua');
    return {
      name: 'wrk',
      run: (opts) =>
        collect(
          startProcess(
            wrk,
            [
              '-t1',
              `-c${opts.connections}`,
              `-d${opts.seconds}s`,
              '--timeout',
              '5s',
              '-s',
              script,
              opts.url,
            ],
            { cpu: 0, env: { ...process.env, ...opts.env } },
          ),
          opts.seconds,
          parseWrk,
        ),
    };
  }
  const script = join(benchDir, 'autocannon-load.ts');
  return {
    name: 'autocannon',
    run: (opts) =>
      collect(
        startProcess(node, [script], {
          cpu: 0,
          env: {
            ...process.env,
            URL: opts.url,
            SECONDS: String(opts.seconds),
            CONNECTIONS: String(opts.connections),
          },
        }),
        opts.seconds,
        (out) => JSON.parse(out.trim().split('\n').at(-1) ?? '') as LoadResult,
      ),
  };
}

function parseWrk(out: string): LoadResult {
  const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (!line) throw new Error(`no summary in wrk output:\n${out.slice(-2000)}`);
  const raw = JSON.parse(line.slice('BENCH_JSON '.length)) as Record<string, number>;
  const seconds = raw.durationUs / 1e6;
  return {
    requests: raw.requests,
    seconds,
    rps: raw.requests / seconds,
    p50Ms: raw.p50Us / 1000,
    p99Ms: raw.p99Us / 1000,
    non2xx: raw.non2xx,
    socketErrors: raw.connect + raw.read + raw.write + raw.timeout,
  };
}

/** Reads the loader's output; ends it if it overruns its window by 15 s. */
export function collect<T>(
  child: ChildProcess,
  seconds: number,
  parse: (out: string) => T,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString()).slice(-4000);
    });
    const timer = setTimeout(() => void stopProcess(child, 1000), (seconds + 15) * 1000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(
          new Error(
            `load generator exited with ${signal ?? `code ${code}`}${err ? `:\n${err}` : ''}`,
          ),
        );
        return;
      }
      try {
        resolve(parse(out));
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** What the fixed-rate pass measured (bench/fixed-rate-load.ts); latencies in ms from when each request was due. */
export interface FixedRateResult {
  /** The pass's round (BENCH_FIXED_ROUNDS). */
  round?: number;
  /** The case's CPU µs per answered request over the measured window (issue 11). */
  cpuUsPerRequest?: number;
  /** CPU taken by other processes over the window, in % of one core. */
  noisePercent?: number;
  rate: number;
  seconds: number;
  answered: number;
  notOk: number;
  dropped: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** An open-loop load of `rate` requests/s on CPU 0: latency at a load the proxy can carry, not at saturation. */
export function fixedRateLoad(
  benchDir: string,
  node: string,
  opts: { url: string; rate: number; seconds: number; warmup: number },
  /** Told when the measured window begins (true) and ends (false). */
  onPhase?: (measuring: boolean) => void,
): Promise<FixedRateResult> {
  const child = startProcess(node, [join(benchDir, 'fixed-rate-load.ts')], {
    cpu: 0,
    env: {
      ...process.env,
      URL: opts.url,
      RATE: String(opts.rate),
      SECONDS: String(opts.seconds),
      WARMUP: String(opts.warmup),
    },
  });
  let seen = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    seen += chunk.toString();
    for (let nl = seen.indexOf('\n'); nl !== -1; nl = seen.indexOf('\n')) {
      const line = seen.slice(0, nl);
      seen = seen.slice(nl + 1);
      if (line === '{"measuring":true}') onPhase?.(true);
      else if (line === '{"measuring":false}') onPhase?.(false);
    }
  });
  return collect(
    child,
    opts.seconds + opts.warmup,
    (out) => JSON.parse(out.trim().split('\n').at(-1) ?? '') as FixedRateResult,
  );
}
