// A real Prometheus for tests: Debian's package `prometheus`, started on a free
// 127.0.0.1 port with its own config and storage in a temp dir, scraping the
// given targets. Missing binary is an error, not a skip: the tests that need it
// must fail loudly on a machine that lacks it.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';

// Prometheus replays its (empty) WAL and opens the TSDB before it is ready;
// a second is usual, a loaded CI machine can take several.
const READY_DEADLINE_MS = 20_000;

export interface StartPrometheusOptions {
  /** `host:port` of each server to scrape. */
  targets: string[];
  /** Defaults to `/metrics`. */
  metricsPath?: string;
  /** Prometheus duration; defaults to `1s` so data shows up quickly. */
  scrapeInterval?: string;
  /** More jobs beside `test`: job name → `host:port` targets. */
  jobs?: Record<string, string[]>;
}

export interface TestPrometheus {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly pid: number;
  /** Kills the process (by PID) and removes its temp dir. */
  stop(): Promise<void>;
}

export async function startPrometheus(options: StartPrometheusOptions): Promise<TestPrometheus> {
  try {
    await access(PROMETHEUS_BIN);
  } catch {
    throw new Error(
      `${PROMETHEUS_BIN} not found: these tests need a real Prometheus; install the Debian package \`prometheus\` (apt-get install prometheus)`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'cutover-prometheus-'));
  const interval = options.scrapeInterval ?? '1s';
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    // The default 10s timeout is refused when it exceeds the interval.
    `  scrape_timeout: ${interval}`,
    'scrape_configs:',
    ...[['test', options.targets] as const, ...Object.entries(options.jobs ?? {})].flatMap(
      ([job, targets]) => [
        `  - job_name: ${JSON.stringify(job)}`,
        `    metrics_path: ${JSON.stringify(options.metricsPath ?? '/metrics')}`,
        '    static_configs:',
        `      - targets: ${JSON.stringify(targets)}`,
      ],
    ),
    '',
  ].join('\n');
  await writeFile(join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const child = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  // Prometheus logs to stderr; keep the tail to explain a failed start.
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await kill(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(url, child);
  } catch (error) {
    await stop();
    throw new Error(`prometheus did not start: ${(error as Error).message}\n${stderr}`);
  }
  return { url, pid: child.pid!, stop };
}

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_DEADLINE_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`exited with ${child.exitCode ?? child.signalCode}`);
    }
    try {
      const res = await request(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await res.body.dump();
      if (res.statusCode === 200) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`${url}/-/ready not 200 in ${READY_DEADLINE_MS} ms`);
    await sleep(100);
  }
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = once(child, 'exit');
  process.kill(child.pid, 'SIGTERM');
  // SIGTERM lets it close the TSDB; it takes well under a second when idle.
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
  }, 5000);
  await exited;
  clearTimeout(timer);
}

/** A port nobody listens on right now (bound to 0, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}
