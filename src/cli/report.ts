// `cutover report`: reads what the fleet recorded — the minute history of
// every route (src/telemetry/history-read.ts) and each route's rollout ledger
// — from the state store, with the instance counts, imported incidents and
// the plan's cost model the user gives, and hands them to the report builder
// (src/report/). Every bad input is a usage error naming its flag (exit 2).
import { existsSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type Config, DEFAULTS, loadConfigFile } from '../config/index.ts';
import type { PlanResult } from '../plan/index.ts';
import {
  buildReport,
  formatReportHtml,
  formatReportMarkdown,
  type ImportedIncident,
  type InstanceCounts,
  type MigrationReport,
  readReportData,
  reportInstances,
  routeMissing,
  type TimelineInput,
} from '../report/index.ts';
import { Ledger, queryPrometheus } from '../rollout/index.ts';
import { type FleetStore, openFleet } from '../state/index.ts';
import type { RouteHistory } from '../telemetry/index.ts';
import {
  parseInstances,
  parseWhen,
  prometheusInstances,
  readIncidentsCsv,
  readPlanJson,
} from './report-inputs.ts';
import { UsageError } from './usage-error.ts';

export const REPORT_FORMATS = ['md', 'json', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** The flags, as commander hands them over. */
export interface ReportFlags {
  readonly config?: string;
  readonly state?: string;
  readonly route?: string;
  readonly since?: string;
  readonly until?: string;
  readonly instances?: string;
  readonly prometheus?: string;
  readonly legacyJob?: string;
  readonly candidateJob?: string;
  readonly incidents?: string;
  readonly plan?: string;
  readonly format?: string;
  readonly output?: string;
}

/** Everything the report is built from. */
export interface ReportSources {
  /** Epoch ms, the span asked for. */
  readonly since: number;
  readonly until: number;
  /** Only this route (else every route, and the whole migration). */
  readonly route: string | undefined;
  readonly history: readonly RouteHistory[];
  /** Rows of the history another version wrote that this one cannot read. */
  readonly rejectedRows: number;
  /** Each route's ledger, oldest first, within the span. */
  readonly ledger: ReadonlyMap<string, readonly TimelineInput[]>;
  /** Undefined when neither the flags nor the config gave them; `{ na }` when the config's Prometheus could not. */
  readonly instances: InstanceCounts | { readonly na: string } | undefined;
  readonly incidents: readonly ImportedIncident[];
  readonly plan: PlanResult | undefined;
  /** Where the history came from (`sqlite:/abs/path`, `redis://… prefix …`). */
  readonly store: string;
}

/** The checked flags: what to read, where from, and how to print it. */
export interface ReportRequest {
  readonly state: string;
  readonly retention: number;
  readonly format: ReportFormat;
  readonly output: string | undefined;
  /** `-c FILE`: its `report` block, whose incidents, instances and plan stand in for absent flags. */
  readonly report?: Config['report'];
}

/** Checks the flags that need no I/O beyond reading the config. */
export async function reportRequest(flags: ReportFlags): Promise<ReportRequest> {
  const format = (flags.format ?? 'md') as ReportFormat;
  if (!REPORT_FORMATS.includes(format))
    throw new UsageError(
      `--format must be one of ${REPORT_FORMATS.join(', ')}, got "${flags.format}"`,
    );
  if (flags.config !== undefined && flags.state !== undefined)
    throw new UsageError('give the state store either by -c FILE or by --state URL, not both');
  if (flags.instances !== undefined && flags.prometheus !== undefined)
    throw new UsageError(
      'give the instance counts either by --instances or by --prometheus, not both',
    );
  if (flags.prometheus !== undefined && (!flags.legacyJob || !flags.candidateJob))
    throw new UsageError('--prometheus needs --legacy-job and --candidate-job');
  if (flags.state !== undefined)
    return {
      state: flags.state,
      retention: DEFAULTS.reportRetention,
      format,
      output: flags.output,
    };
  const file = flags.config ?? 'cutover.yaml';
  if (!existsSync(file))
    throw new UsageError(
      `config file not found: ${file} (give the state store by -c FILE or --state URL)`,
    );
  const config = await loadConfigFile(file, process.env, { inThread: true });
  const state = typeof config.state === 'string' ? config.state : config.state.url;
  return {
    state,
    retention: config.report.retention,
    format,
    output: flags.output,
    report: config.report,
  };
}

/** Reads everything the report needs; `now` is the end of the default span. */
export async function gatherReport(
  flags: ReportFlags,
  request: ReportRequest,
  now = Date.now(),
): Promise<ReportSources> {
  const until = flags.until === undefined ? now : parseWhen('--until', flags.until, now);
  const since =
    flags.since === undefined ? now - request.retention : parseWhen('--since', flags.since, now);
  if (since >= until)
    throw new UsageError(
      `--since (${new Date(since).toISOString()}) must be before --until (${new Date(until).toISOString()})`,
    );
  // Files first: a typo in a path should not wait for a store. A flag wins over the config's
  // `report` block (read and checked with the config: docs/config.md).
  const configured = request.report;
  const incidents =
    flags.incidents === undefined
      ? (configured?.incidents?.list ?? [])
      : readIncidentsCsv(flags.incidents);
  const plan =
    flags.plan === undefined
      ? (configured?.plan?.json as PlanResult | undefined)
      : readPlanJson(flags.plan);
  const instances =
    flags.instances !== undefined
      ? parseInstances(flags.instances)
      : flags.prometheus !== undefined
        ? await prometheusInstances(
            flags.prometheus,
            flags.legacyJob as string,
            flags.candidateJob as string,
          )
        : configured?.instances &&
          (await reportInstances(configured.instances, (url, query, timeoutMs) =>
            queryPrometheus(url, query, { timeoutMs }),
          ));
  let store: FleetStore;
  try {
    store = openFleet(request.state);
  } catch (error) {
    throw new UsageError(`--state: ${(error as Error).message}`);
  }
  try {
    const reader = new Ledger(store);
    const span = { since, until, route: flags.route };
    const data = await readReportData(store, (route) => reader.history(route), span);
    if (flags.route !== undefined && routeMissing(data, flags.route))
      throw new UsageError(
        `no history of route "${flags.route}" in ${store.description} between ${new Date(since).toISOString()} and ${new Date(until).toISOString()}`,
      );
    return {
      since,
      until,
      route: flags.route,
      history: data.history,
      rejectedRows: data.rejectedRows,
      ledger: data.ledger,
      instances,
      incidents,
      plan,
      store: store.description,
    };
  } finally {
    await store.close();
  }
}

/** Writes the report to -o FILE, or to stdout. */
export function writeReport(text: string, output: string | undefined): void {
  if (output === undefined) {
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    return;
  }
  try {
    writeFileSync(output, text);
  } catch (error) {
    throw new UsageError(
      `-o ${output}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

/** The report of `sources`, built (src/report/) and printed in `format`. */
export function renderReport(
  sources: ReportSources,
  format: ReportFormat,
  now = Date.now(),
): { report: MigrationReport; text: string } {
  const report = buildReport({
    from: sources.since,
    until: sources.until,
    routes: sources.history,
    timeline: [...sources.ledger.values()].flat(),
    instances: sources.instances,
    incidents: sources.incidents,
    plan: sources.plan && { modules: sources.plan.modules },
    generatedAt: now,
  });
  const text =
    format === 'json'
      ? `${JSON.stringify(report, null, 2)}\n`
      : format === 'html'
        ? formatReportHtml(report)
        : formatReportMarkdown(report);
  return { report, text };
}

/** `cutover report …`: reads, builds, writes. */
export async function runReport(flags: ReportFlags): Promise<void> {
  const request = await reportRequest(flags);
  const now = Date.now();
  const sources = await gatherReport(flags, request, now);
  writeReport(renderReport(sources, request.format, now).text, request.output);
  if (sources.rejectedRows > 0)
    process.stderr.write(
      `cutover: ${sources.rejectedRows} history rows could not be read (written by another version?) and are left out\n`,
    );
}

/** Registers `cutover report` on the program (src/cli/main.ts). */
export function registerReport(program: Command): void {
  program
    .command('report')
    .description(
      'the migration report: legacy vs candidate from the minute history, the rollout timeline, incidents (docs/report.md)',
    )
    .option('-c, --config <file>', 'config file naming the state store (default: cutover.yaml)')
    .option('--state <url>', 'the state store instead of a config: sqlite:PATH or redis://…')
    .option('--route <name>', 'one route (default: every route and the whole migration)')
    .option(
      '--since <when>',
      'start: a duration ago (7d, 12h) or an ISO date (default: the retention)',
    )
    .option('--until <when>', 'end: a duration ago or an ISO date (default: now)')
    .option('--instances <counts>', 'backend instances per side: legacy=N,candidate=M')
    .option('--prometheus <url>', 'count the instances in Prometheus: count(up{job=...})')
    .option('--legacy-job <job>', "with --prometheus: the legacy service's job")
    .option('--candidate-job <job>', "with --prometheus: the candidate's job")
    .option('--incidents <file>', 'incidents to import, CSV: date,kind,route,note')
    .option(
      '--plan <file>',
      'a cutover plan --format json output: its cost model beside the benefit',
    )
    .option('--format <format>', 'md, json or html', 'md')
    .option('-o, --output <file>', 'write the report to FILE instead of stdout')
    .action((o: ReportFlags) => runReport(o));
}
