// The HTTP/2 benchmark's load generators, each in its own process on CPU 0: h2load
// (Debian's nghttp2-client) for plain HTTP/2 requests over h2c, and bench/grpc-load.ts
// (a grpc-js client) for gRPC unary calls. Both give a LoadResult like wrk's.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { collect, type LoadResult } from './load.ts';
import { startProcess, which } from './procs.ts';

export interface StreamLoad {
  /** HTTP/2 connections. */
  connections: number;
  /** Concurrent streams on each connection. */
  streamsPerConnection: number;
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * h2load prints min/max/mean but no percentiles: p50 and p99 come from its per-request
 * log (`--log-file`: start µs, status, µs to the end of the response).
 */
export function parseH2load(out: string, log: string): LoadResult {
  const finished = /finished in ([\d.]+)s, ([\d.]+) req\/s/.exec(out);
  const requests =
    /requests: \d+ total, \d+ started, (\d+) done, \d+ succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      out,
    );
  const codes = /status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  if (!finished || !requests || !codes)
    throw new Error(`no summary in h2load output:\n${out.slice(-2000)}`);
  const lines = log.split('\n').filter(Boolean);
  const durations = new Float64Array(lines.length);
  lines.forEach((line, i) => {
    durations[i] = Number(line.split('\t')[2]);
  });
  durations.sort();
  return {
    requests: Number(requests[1]),
    seconds: Number(finished[1]),
    rps: Number(finished[2]),
    p50Ms: percentile(durations, 50) / 1000,
    p99Ms: percentile(durations, 99) / 1000,
    non2xx: Number(codes[1]) + Number(codes[2]) + Number(codes[3]),
    socketErrors: Number(requests[2]),
  };
}

export function h2loadUnavailable(): string | undefined {
  return which('h2load')
    ? undefined
    : 'h2load is not on PATH (apt-get install -y nghttp2-client, or npm run prebench)';
}

/** `h2load -c C -m M -D S` against an h2c `http://` URL (prior knowledge, no upgrade). */
export function h2load(
  url: string,
  seconds: number,
  shape: StreamLoad,
  logDir: string,
): Promise<LoadResult> {
  const log = join(logDir, 'h2load.log');
  const child = startProcess(
    which('h2load')!,
    [
      `-c${shape.connections}`,
      `-m${shape.streamsPerConnection}`,
      `-D${seconds}`,
      `--log-file=${log}`,
      url,
    ],
    { cpu: 0 },
  );
  return collect(child, seconds, (out) => {
    try {
      return parseH2load(out, readFileSync(log, 'utf8'));
    } finally {
      rmSync(log, { force: true });
    }
  });
}

/** bench/grpc-load.ts: unary echo calls, `connections` grpc-js channels × streams each in flight. */
export function grpcLoad(
  benchDir: string,
  node: string,
  target: string,
  seconds: number,
  shape: StreamLoad,
): Promise<LoadResult> {
  const child = startProcess(node, [join(benchDir, 'grpc-load.ts')], {
    cpu: 0,
    env: {
      ...process.env,
      TARGET: target,
      SECONDS: String(seconds),
      CHANNELS: String(shape.connections),
      CONCURRENCY: String(shape.connections * shape.streamsPerConnection),
    },
  });
  return collect(
    child,
    seconds,
    (out) => JSON.parse(out.trim().split('\n').at(-1) ?? '') as LoadResult,
  );
}
