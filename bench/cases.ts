// What the benchmark measures: a list of cases, each starting one target on CPU 1.
// Adding a case (say Cutover with guards, or with shadow copies) is one entry below:
// `cutoverCase('cutover+guards', join(BENCH_DIR, 'cutover-guards.yaml'))`.
import { closeSync, existsSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor200 } from './lib/admin.ts';
import { cpuTicks, freePort, readPort, startProcess, stopProcess, which } from './lib/procs.ts';
import { type BenchRedis, redisUnavailable, startRedis } from './lib/redis.ts';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = dirname(BENCH_DIR);

export interface CaseContext {
  /** Base URL of the upstream, e.g. http://127.0.0.1:41234 */
  upstream: string;
  upstreamPid: number;
  /** The Node binary children run with (node_modules/.bin/node when present). */
  node: string;
  /** A temp directory of this case's own. */
  dir: string;
}

export interface Target {
  port: number;
  /** Processes whose CPU time is charged to the case (descendants included). */
  pids: readonly number[];
  /** Whose CPU the µs/request figure is: the proxy's, or the upstream's for `direct`. */
  cpuOf: 'proxy' | 'upstream';
  stop(): Promise<void>;
  /** Variables for bench/wrk-load.lua: the scaling part's routes and keys. */
  load?: { env: Readonly<Record<string, string>> };
  /** Extra facts for the JSON report, read once at the end. */
  facts?(): Record<string, unknown> | Promise<Record<string, unknown>>;
}

export interface BenchCase {
  name: string;
  about: string;
  /** A reason to skip this case on this machine, printed as a note. */
  unavailable?(): string | undefined;
  start(ctx: CaseContext): Promise<Target>;
}

/** A bench server script (prints {"port":N}) run with Node on CPU 1. */
export function nodeServerCase(name: string, about: string, script: string): BenchCase {
  return {
    name,
    about,
    async start(ctx) {
      const child = startProcess(ctx.node, [join(BENCH_DIR, script)], {
        cpu: 1,
        env: { ...process.env, UPSTREAM: ctx.upstream, PORT: '0' },
      });
      const port = await readPort(child, name);
      child.stdout?.resume();
      child.stderr?.resume();
      return { port, pids: [child.pid!], cpuOf: 'proxy', stop: () => stopProcess(child) };
    },
  };
}

function tail(path: string, chars = 3000): string {
  try {
    return readFileSync(path, 'utf8').slice(-chars);
  } catch {
    return '';
  }
}

/**
 * Cutover from src/cli/main.ts with a YAML template (see bench/cutover.yaml), its JSON
 * access log on and written to a file, ready once the admin /healthz answers 200.
 */
export interface CutoverCaseOptions {
  /** A checkout to run Cutover from (default this one). */
  root?: string;
  /** How long Cutover may take to answer /healthz (a 10,000-route config takes seconds). */
  startTimeoutMs?: number;
  /** Node options before the script, e.g. --cpu-prof (bench/profile.ts). */
  nodeArgs?: readonly string[];
  /** Extra environment variables for the Cutover process. */
  env?: Readonly<Record<string, string>>;
  /**
   * Start a redis-server of the case's own (CPU 0, like the upstream: in production it
   * is another machine) and fill `{{REDIS}}` with its URL. Its CPU is not charged to
   * the case; the JSON's facts give it. Default: when the template has `{{REDIS}}`
   * (so bench/profile.ts runs a Redis template as it is).
   */
  redis?: boolean;
}

export function cutoverCase(
  name: string,
  templatePath: string,
  about?: string,
  options: CutoverCaseOptions = {},
): BenchCase {
  const { root = REPO_ROOT, startTimeoutMs = 15_000, nodeArgs = [], env = {} } = options;
  const withRedis =
    options.redis ??
    (existsSync(templatePath) && readFileSync(templatePath, 'utf8').includes('{{REDIS}}'));
  return {
    name,
    about:
      about ??
      `Cutover (${templatePath.startsWith(BENCH_DIR) ? `bench/${templatePath.slice(BENCH_DIR.length + 1)}` : templatePath}), access log on`,
    unavailable: () =>
      !existsSync(join(root, 'src/cli/main.ts'))
        ? `no Cutover checkout at ${root} (BENCH_BASELINE_ROOT)`
        : !existsSync(templatePath)
          ? `config template ${templatePath} not found`
          : withRedis
            ? redisUnavailable()
            : undefined,
    async start(ctx) {
      const [port, adminPort] = [await freePort(), await freePort()];
      const redis: BenchRedis | undefined = withRedis ? await startRedis() : undefined;
      const config = readFileSync(templatePath, 'utf8')
        .replaceAll('{{REDIS}}', redis?.url ?? 'redis-not-started')
        .replaceAll('{{LISTEN_PORT}}', String(port))
        .replaceAll('{{ADMIN_PORT}}', String(adminPort))
        .replaceAll('{{UPSTREAM}}', ctx.upstream)
        .replaceAll('{{UPSTREAM2}}', ctx.upstream)
        .replaceAll('{{TMP}}', ctx.dir);
      const configPath = join(ctx.dir, 'cutover.yaml');
      writeFileSync(configPath, config);
      const accessLog = join(ctx.dir, 'access.log');
      const stderrLog = join(ctx.dir, 'stderr.log');
      const out = openSync(accessLog, 'w');
      const err = openSync(stderrLog, 'w');
      const child = startProcess(
        ctx.node,
        [...nodeArgs, 'src/cli/main.ts', 'start', '-c', configPath],
        {
          cpu: 1,
          cwd: root,
          env: { ...process.env, ...env },
          stdio: ['ignore', out, err],
        },
      );
      closeSync(out);
      closeSync(err);
      try {
        await waitFor200(`http://127.0.0.1:${adminPort}/healthz`, startTimeoutMs, child);
      } catch (error) {
        await stopProcess(child);
        await redis?.stop();
        const stderr = tail(stderrLog);
        throw new Error(
          `${(error as Error).message}${stderr ? `\n--- cutover stderr ---\n${stderr}` : ''}`,
        );
      }
      return {
        port,
        pids: [child.pid!],
        cpuOf: 'proxy',
        stop: async () => {
          await stopProcess(child);
          await redis?.stop();
        },
        facts: async () => ({
          accessLogBytes: existsSync(accessLog) ? statSync(accessLog).size : 0,
          stderrTail: tail(stderrLog, 1000),
          // Over the case's whole life, warm-ups included: what the store did for it.
          ...(redis
            ? {
                redisCpuTicks: cpuTicks([redis.pid]),
                redisCalls: await redis.commandCalls().catch((e: Error) => e.message),
              }
            : {}),
        }),
      };
    },
  };
}

function nginxConfig(dir: string, port: number, upstream: string): string {
  const { host } = new URL(upstream);
  // As root, nginx would hand its worker to `nobody`; keep it on the current user.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${user}worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream bench_upstream {
    server ${host};
    keepalive 128;
  }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 1000000;
    location / {
      proxy_pass http://bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

const nginxCase: BenchCase = {
  name: 'nginx',
  about: 'nginx, 1 worker, keep-alive upstream pool, access log off',
  unavailable: () =>
    which('nginx') ? undefined : 'nginx is not on PATH (apt-get install -y nginx to add it)',
  async start(ctx) {
    const port = await freePort();
    const conf = join(ctx.dir, 'nginx.conf');
    writeFileSync(conf, nginxConfig(ctx.dir, port, ctx.upstream));
    // -e: the error log before the config is read, so nothing is written under /var/log.
    const child = startProcess(
      which('nginx')!,
      ['-c', conf, '-p', ctx.dir, '-e', join(ctx.dir, 'error.log')],
      { cpu: 1 },
    );
    child.stdout?.resume();
    child.stderr?.resume();
    try {
      await waitFor200(`http://127.0.0.1:${port}/`, 10_000, child);
    } catch (error) {
      await stopProcess(child);
      throw new Error(`${(error as Error).message}\n${tail(join(ctx.dir, 'error.log'))}`);
    }
    // The master's PID; its worker is a descendant and is summed with it.
    return { port, pids: [child.pid!], cpuOf: 'proxy', stop: () => stopProcess(child) };
  },
};

const directCase: BenchCase = {
  name: 'direct',
  about: 'the upstream itself, no proxy (CPU/request is the upstream’s)',
  async start(ctx) {
    const port = Number(new URL(ctx.upstream).port);
    return { port, pids: [ctx.upstreamPid], cpuOf: 'upstream', stop: async () => {} };
  },
};

export function allCases(): BenchCase[] {
  const cutoverTemplate = process.env.BENCH_CUTOVER_CONFIG ?? join(BENCH_DIR, 'cutover.yaml');
  return [
    directCase,
    cutoverCase('cutover', cutoverTemplate),
    cutoverCase(
      'cutover-nolog',
      join(BENCH_DIR, 'cutover-quiet.yaml'),
      'Cutover as `cutover` with the access log off: what the access line costs, in the same run',
    ),
    cutoverCase(
      'cutover+guards',
      join(BENCH_DIR, 'cutover-guards.yaml'),
      'Cutover with breaker, rate limit, concurrency cap, fallback and retries configured, none tripping',
    ),
    cutoverCase(
      'cutover+rollout',
      join(BENCH_DIR, 'cutover-rollout.yaml'),
      'cutover+guards with a rollout held at 50%: sliding windows on both sides, gates checked every second',
    ),
    cutoverCase(
      'cutover+shadow',
      join(BENCH_DIR, 'cutover-shadow.yaml'),
      'Cutover with every request also copied to the candidate and compared (shadow 100%)',
    ),
    cutoverCase(
      'cutover+streaming',
      join(BENCH_DIR, 'cutover-streaming.yaml'),
      'Cutover as `cutover` with request and response buffering off (requestBuffer 0, responseBuffer 0): bodies stream as before issue 9',
    ),
    // Issue 11: the fleet's cost on the request path, read against cutover-memory.
    cutoverCase(
      'cutover-memory',
      join(BENCH_DIR, 'cutover-memory.yaml'),
      'Cutover as `cutover` with `state: memory` (no store, no fleet member): the reference of the fleet cases',
    ),
    cutoverCase(
      'cutover-memory+limit',
      join(BENCH_DIR, 'cutover-memory-limit.yaml'),
      'cutover-memory with the fleet cases’ limit at scope `instance`: what the limit itself costs',
    ),
    cutoverCase(
      'cutover-redis',
      join(BENCH_DIR, 'cutover-redis.yaml'),
      'Cutover as `cutover` with state on a Redis of its own and a cluster-scope limit far above the load (nothing refused)',
    ),
    cutoverCase(
      'cutover-redis-instance',
      join(BENCH_DIR, 'cutover-redis-instance.yaml'),
      'cutover-redis with the limit scope `instance`: fleet membership on Redis, no shared bucket',
    ),
    // Another checkout (say the commit before a change: `git worktree add
    // ../base <commit>`) run with the same template, for "vs before" in one run.
    cutoverCase(
      'cutover@baseline',
      cutoverTemplate,
      `Cutover from the checkout in BENCH_BASELINE_ROOT (${process.env.BENCH_BASELINE_ROOT ?? 'unset'}), same config as \`cutover\``,
      { root: process.env.BENCH_BASELINE_ROOT ?? '/nonexistent' },
    ),
    nodeServerCase(
      'plain',
      'node:http + undici Pool.stream, ~30 lines (bench/plain-proxy.ts)',
      'plain-proxy.ts',
    ),
    nodeServerCase(
      'fastify',
      '@fastify/http-proxy defaults, logger off (bench/fastify-proxy.ts)',
      'fastify-proxy.ts',
    ),
    nginxCase,
  ];
}
