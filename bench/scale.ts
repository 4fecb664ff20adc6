// The scaling part of `npm run bench` (BENCH_SCALE=1, or BENCH_SCALE=only): how
// Cutover's CPU per request, p99 and RSS grow with the work it holds — 1, 1,000
// and 10,000 routes, 10,000 distinct sticky keys, 5,000 idle keep-alive client
// connections — each as a ratio to the 1-route case of the same run. See
// bench/README.md, "Scaling".
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, type BenchCase, cutoverCase, type Target } from './cases.ts';
import { startProcess, stopProcess } from './lib/procs.ts';
import { type CaseSummary, grid, median, type RunRecord } from './lib/report.ts';
import { scaleConfig } from './lib/scale-config.ts';

export interface ScaleShape {
  name: string;
  about: string;
  routes: number;
  /** Distinct sticky keys (x-user-id values) the load spreads over. */
  keys: number;
  /** Keep-alive client connections held open and idle while the load runs. */
  idle: number;
}

export const SCALE_SHAPES: readonly ScaleShape[] = [
  { name: 'scale:1-route', about: '1 route, 1,000 keys', routes: 1, keys: 1000, idle: 0 },
  { name: 'scale:1k-routes', about: '1,000 routes', routes: 1000, keys: 1000, idle: 0 },
  { name: 'scale:10k-routes', about: '10,000 routes', routes: 10_000, keys: 1000, idle: 0 },
  { name: 'scale:10k-keys', about: '1 route, 10,000 keys', routes: 1, keys: 10_000, idle: 0 },
  {
    name: 'scale:5k-idle',
    about: '1 route, 5,000 idle keep-alive connections',
    routes: 1,
    keys: 1000,
    idle: 5000,
  },
];
const BASE = SCALE_SHAPES[0].name;

/** The soft limit on open files this process (and so its children) may hold. */
export function openFilesLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft);
  } catch {
    return Number.NaN;
  }
}

/** Room for the listener, upstream pool, logs and the load's own connections beside the idle ones. */
const FD_MARGIN = 1024;

/** Starts the idle-connection holder on CPU 0 and waits until every connection was answered once. */
async function holdIdle(
  node: string,
  port: number,
  count: number,
): Promise<{ stop(): Promise<void>; open(): number }> {
  const child = startProcess(node, [join(BENCH_DIR, 'lib/idle-connections.ts')], {
    cpu: 0,
    env: { ...process.env, PORT: String(port), CONNECTIONS: String(count) },
  });
  let last = { open: 0, failed: 0 };
  const first = new Promise<void>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(
      () => reject(new Error(`${count} idle connections not open in 60 s`)),
      60_000,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl = buffered.indexOf('\n');
      while (nl !== -1) {
        last = JSON.parse(buffered.slice(0, nl)) as typeof last;
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf('\n');
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`idle holder exited (code ${code})`)));
  });
  child.stderr?.resume();
  try {
    await first;
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  if (last.open < count) {
    await stopProcess(child);
    throw new Error(
      `only ${last.open} of ${count} idle connections opened (${last.failed} refused)`,
    );
  }
  return {
    stop: () => stopProcess(child),
    // The holder reports again whenever the server closes one, so this is current.
    open: () => last.open,
  };
}

/** One Cutover per shape, from a generated config (bench/lib/scale-config.ts), access log on. */
export function scaleCases(node: string): BenchCase[] {
  return SCALE_SHAPES.map((shape) => ({
    name: shape.name,
    about: shape.about,
    unavailable: () => {
      const limit = openFilesLimit();
      return shape.idle > 0 && !(limit >= shape.idle + FD_MARGIN)
        ? `${shape.idle} idle connections need an open-files limit of ${shape.idle + FD_MARGIN} or more (ulimit -n is ${limit})`
        : undefined;
    },
    async start(ctx): Promise<Target> {
      const template = join(ctx.dir, 'template.yaml');
      writeFileSync(
        template,
        scaleConfig({
          routes: shape.routes,
          listenPort: '{{LISTEN_PORT}}',
          adminPort: '{{ADMIN_PORT}}',
          upstream: '{{UPSTREAM}}',
          dir: '{{TMP}}',
          accessLog: true,
          // Idle clients must outlast the whole run (default 75 s).
          server: shape.idle > 0 ? { keepAliveTimeout: '30m' } : undefined,
        }),
      );
      const cutover = await cutoverCase(shape.name, template, shape.about, {
        startTimeoutMs: 120_000,
      }).start(ctx);
      const holder = shape.idle > 0 ? await holdIdle(node, cutover.port, shape.idle) : undefined;
      return {
        ...cutover,
        load: {
          env: { BENCH_SCALE_ROUTES: String(shape.routes), BENCH_SCALE_KEYS: String(shape.keys) },
        },
        stop: async () => {
          await holder?.stop();
          await cutover.stop();
        },
        facts: async () => ({
          ...(await cutover.facts?.()),
          ...(holder ? { idleOpen: holder.open() } : {}),
        }),
      };
    },
  }));
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

/** Per round, this case's figure over the 1-route case's; the median over rounds. */
function ratio(records: readonly RunRecord[], name: string, of: (r: RunRecord) => number): number {
  const ok = (r: RunRecord) =>
    !r.replaced && r.load !== undefined && r.cpuUsPerRequest !== undefined;
  const values: number[] = [];
  for (const a of records.filter((r) => r.case === name && ok(r))) {
    const b = records.find((r) => r.case === BASE && r.round === a.round && ok(r));
    if (b) values.push(of(a) / of(b));
  }
  return median(values);
}

export function formatScale(
  summaries: readonly CaseSummary[],
  records: readonly RunRecord[],
): string {
  const header = [
    'case',
    'routes',
    'keys',
    'idle',
    'req/s',
    'p99 ms',
    'µs CPU/req',
    'RSS MiB',
    'CPU/req ×',
    'p99 ×',
    'RSS ×',
    'errors',
    'noise %',
  ];
  const rows = summaries.map((s) => {
    const shape = SCALE_SHAPES.find((x) => x.name === s.case)!;
    const head = [s.case, String(shape.routes), String(shape.keys), String(shape.idle)];
    if (s.failed)
      return [...head, s.failed.startsWith('skipped') ? 'skipped' : 'failed', ...Array(8).fill('')];
    const rss = median(
      records.filter((r) => r.case === s.case && !r.replaced && r.rssBytes).map((r) => r.rssBytes!),
    );
    return [
      ...head,
      fixed(s.rps, 0),
      fixed(s.p99Ms, 2),
      fixed(s.cpuUsPerRequest, 1),
      fixed(rss / 2 ** 20, 0),
      fixed(
        ratio(records, s.case, (r) => r.cpuUsPerRequest!),
        2,
      ),
      fixed(
        ratio(records, s.case, (r) => r.load!.p99Ms),
        2,
      ),
      fixed(
        ratio(records, s.case, (r) => r.rssBytes ?? Number.NaN),
        2,
      ),
      String(s.errors),
      fixed(s.noisePercent, 0),
    ];
  });
  const lines = [
    'scaling (ratios: median over rounds of this case / scale:1-route in the same round; RSS read at the end of each window)',
    grid([header, ...rows]),
  ];
  for (const s of summaries.filter((x) => x.failed))
    lines.push(`${s.case}: ${s.failed!.split('\n')[0]}`);
  return lines.join('\n');
}
