#!/usr/bin/env node
// The `cutover` command.
import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import { Argument, Command, CommanderError, Option } from 'commander';
import { loadConfigFile } from '../config/index.ts';
import { ConfigError, CutoverError } from '../errors.ts';
import type { ShadowResultsJSON } from '../gateway/index.ts';
import {
  type LedgerEntry,
  ROLLOUT_ACTIONS,
  type RolloutAction,
  type RolloutStatus,
} from '../rollout/index.ts';
import { adminCall, resolveAdmin } from './client.ts';
import { demoBanner, startDemo } from './demo.ts';
import { formatDiffs, table } from './diffs-format.ts';
import { formatInstances, type InstanceView } from './instances-format.ts';
import { registerPlan } from './plan-command.ts';
import { registerReport } from './report.ts';
import { formatHistory, formatRollout, formatRollouts } from './rollout-format.ts';
import { startCutover } from './run.ts';
import { EXIT_FAILURE, EXIT_USAGE, onSignals } from './signals.ts';
import { UsageError } from './usage-error.ts';
import { runPrimary, runWorker } from './workers.ts';

function requireFile(file: string): string {
  if (!existsSync(file)) throw new UsageError(`config file not found: ${file}`);
  return file;
}

function print(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

interface RouteView {
  name: string;
  legacy: string;
  candidate: string | null;
  weight: number;
  configWeight: number;
  weightSource: string;
  match: { path: string };
}

function routeTable(routes: RouteView[]): string {
  const rows = [['ROUTE', 'PATH', 'LEGACY', 'CANDIDATE', 'WEIGHT', 'SOURCE']];
  for (const r of routes) {
    rows.push([
      r.name,
      r.match.path,
      r.legacy,
      r.candidate ?? '-',
      `${r.weight}%`,
      r.weightSource === 'runtime' ? `runtime (file: ${r.configWeight}%)` : 'config',
    ]);
  }
  return table(rows);
}

const adminOptions = (cmd: Command): Command =>
  cmd
    .option(
      '-c, --config <file>',
      'config file to read the admin address and token from',
      'cutover.yaml',
    )
    .option('--admin <url>', 'admin API base URL (token from CUTOVER_ADMIN_TOKEN)')
    .option('--json', 'machine-readable output');

export function buildProgram(): Command {
  const program = new Command('cutover')
    .description('Move live traffic from a legacy service to its rewrite, route by route.')
    .version('0.1.0')
    .showSuggestionAfterError()
    .exitOverride();

  program
    .command('start')
    .description('run the gateway with a config file')
    .option('-c, --config <file>', 'config file', 'cutover.yaml')
    .action(async (o: { config: string }) => {
      const file = requireFile(o.config);
      // A worker forked by the primary below: the primary checked the config.
      if (cluster.isWorker) return runWorker(file);
      const config = await loadConfigFile(file, process.env, { inThread: true });
      if (config.server.workers > 1) return runPrimary(file, config);
      const running = await startCutover(file, { config });
      onSignals(running, () => running.close());
    });

  program
    .command('validate')
    .description('check a config file; exit 0 when valid, 1 with every error listed')
    .option('-c, --config <file>', 'config file', 'cutover.yaml')
    .option('--json', 'machine-readable output')
    .action(async (o: { config: string; json?: boolean }) => {
      try {
        const config = await loadConfigFile(requireFile(o.config), process.env, {
          inThread: true,
        });
        print(
          !!o.json,
          { valid: true, routes: config.routes.length, backends: config.backends.size },
          () =>
            `${o.config}: valid (${config.routes.length} routes, ${config.backends.size} backends)`,
        );
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        print(!!o.json, { valid: false, errors: error.issues }, () => error.message);
        process.exitCode = EXIT_FAILURE;
      }
    });

  registerPlan(program);

  program
    .command('demo')
    .description('start a demo legacy service, its rewrite and the gateway in front of them')
    .addOption(new Option('--port <port>', 'gateway port').default(8080).argParser(Number))
    .addOption(new Option('--admin-port <port>', 'admin port').default(9090).argParser(Number))
    .addOption(
      new Option('--legacy-port <port>', 'demo legacy service port')
        .default(9001)
        .argParser(Number),
    )
    .addOption(
      new Option('--rewrite-port <port>', 'demo rewrite service port')
        .default(9002)
        .argParser(Number),
    )
    .addOption(
      new Option('--grpc-legacy-port <port>', 'demo legacy gRPC service port')
        .default(9003)
        .argParser(Number),
    )
    .addOption(
      new Option('--grpc-rewrite-port <port>', 'demo rewrite gRPC service port')
        .default(9004)
        .argParser(Number),
    )
    .action(
      async (o: {
        port: number;
        adminPort: number;
        legacyPort: number;
        rewritePort: number;
        grpcLegacyPort: number;
        grpcRewritePort: number;
      }) => {
        const demo = await startDemo(o);
        process.stderr.write(demoBanner(demo));
        onSignals(demo.cutover, () => demo.close());
      },
    );

  adminOptions(
    program
      .command('weight')
      .description("show or set the share of a route's users sent to its candidate (percent)")
      .argument('<route>', 'route name')
      .argument('[percent]', 'new weight, 0-100 with up to two decimals')
      .option('--reset', "drop the runtime weight; the config file's weight applies again"),
  ).action(
    async (
      route: string,
      percent: string | undefined,
      o: { config: string; admin?: string; json?: boolean; reset?: boolean },
    ) => {
      const target = await resolveAdmin(o);
      const path = `/api/routes/${encodeURIComponent(route)}`;
      let result: RouteView;
      if (o.reset) result = (await adminCall(target, 'DELETE', `${path}/weight`)) as RouteView;
      else if (percent !== undefined) {
        const weight = Number(percent);
        if (percent.trim() === '' || !Number.isFinite(weight))
          throw new UsageError(`weight must be a number, got "${percent}"`);
        result = (await adminCall(target, 'PUT', `${path}/weight`, { weight })) as RouteView;
      } else result = (await adminCall(target, 'GET', path)) as RouteView;
      print(
        !!o.json,
        result,
        () =>
          `${result.name}: ${result.weight}% to ${result.candidate ?? '(no candidate)'} (${result.weightSource})`,
      );
    },
  );

  adminOptions(
    program
      .command('diffs')
      .description(
        "show a route's shadow comparison: counts, differing fields, samples, paired latency",
      )
      .argument('<route>', 'route name'),
  ).action(async (route: string, o: { config: string; admin?: string; json?: boolean }) => {
    const result = (await adminCall(
      await resolveAdmin(o),
      'GET',
      `/api/routes/${encodeURIComponent(route)}/diffs`,
    )) as ShadowResultsJSON;
    print(!!o.json, result, () => formatDiffs(result));
  });

  adminOptions(
    program
      .command('routes')
      .description('list the routes of a running gateway with their weights'),
  ).action(async (o: { config: string; admin?: string; json?: boolean }) => {
    const result = (await adminCall(await resolveAdmin(o), 'GET', '/api/routes')) as {
      routes: RouteView[];
    };
    print(!!o.json, result, () => routeTable(result.routes));
  });

  addRolloutCommands(program);

  registerReport(program);
  return program;
}

type AdminOpts = { config: string; admin?: string; json?: boolean };

function addRolloutCommands(program: Command): void {
  adminOptions(
    program
      .command('rollout')
      .description("steer a route's rollout: start, pause, resume, promote, rollback or reset it")
      .addArgument(new Argument('<action>', 'what to do').choices(ROLLOUT_ACTIONS))
      .argument('<route>', 'route name')
      .option('--full', 'with promote: straight to 100% (done) instead of the next step'),
  ).action(async (action: RolloutAction, route: string, o: AdminOpts & { full?: boolean }) => {
    if (o.full && action !== 'promote') throw new UsageError('--full goes with promote only');
    const query = o.full ? '?full=true' : '';
    const result = (await adminCall(
      await resolveAdmin(o),
      'POST',
      `/api/routes/${encodeURIComponent(route)}/rollout/${action}${query}`,
    )) as RolloutStatus;
    print(!!o.json, result, () => formatRollout(result));
  });

  adminOptions(
    program
      .command('status')
      .description(
        'every route of a running gateway: its rollout (state, step, gates, what it waits for) or its manual weight',
      ),
  ).action(async (o: AdminOpts) => {
    const admin = await resolveAdmin(o);
    const result = (await adminCall(admin, 'GET', '/api/rollouts')) as {
      rollouts: RolloutStatus[];
    };
    const { routes } = (await adminCall(admin, 'GET', '/api/routes')) as { routes: RouteView[] };
    const rolling = new Set(result.rollouts.map((r) => r.route));
    const manual = routes.filter((r) => !rolling.has(r.name));
    print(
      !!o.json,
      { ...result, manual: manual.map((r) => ({ name: r.name, weight: r.weight })) },
      () => formatRollouts(result.rollouts, manual),
    );
  });

  adminOptions(
    program
      .command('instances')
      .description('the instances of the fleet the gateway belongs to, and which one leads'),
  ).action(async (o: AdminOpts) => {
    const list = (await adminCall(
      await resolveAdmin(o),
      'GET',
      '/api/instances',
    )) as InstanceView[];
    print(!!o.json, list, () => formatInstances(list));
  });

  adminOptions(
    program
      .command('history')
      .description("show a route's rollout history, oldest first: every move and who made it")
      .argument('<route>', 'route name')
      .option('--limit <n>', 'only the newest N entries'),
  ).action(async (route: string, o: AdminOpts & { limit?: string }) => {
    let query = '';
    if (o.limit !== undefined) {
      const limit = Number(o.limit);
      if (!(Number.isInteger(limit) && limit > 0))
        throw new UsageError(`--limit must be a whole number above 0, got "${o.limit}"`);
      query = `?limit=${limit}`;
    }
    const result = (await adminCall(
      await resolveAdmin(o),
      'GET',
      `/api/routes/${encodeURIComponent(route)}/history${query}`,
    )) as { route: string; history: LedgerEntry[] };
    print(!!o.json, result, () => formatHistory(result.route, result.history));
  });
}

export async function main(argv: string[]): Promise<void> {
  await runCommand(argv);
  // A worker's IPC channel to its primary keeps it alive: one that could not start ends here.
  if (cluster.isWorker && process.exitCode) process.exit(process.exitCode);
}

async function runCommand(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version print and exit 0; every other commander error is a usage error
      process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`cutover: ${error.message}\n`);
      process.exitCode = EXIT_USAGE;
      return;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`cutover: ${error.message}\n`);
      process.exitCode = EXIT_FAILURE;
      return;
    }
    const message =
      error instanceof CutoverError ? error.message : ((error as Error).stack ?? String(error));
    process.stderr.write(`cutover: ${message}\n`);
    process.exitCode = EXIT_FAILURE;
  }
}

if (import.meta.main) await main(process.argv);
