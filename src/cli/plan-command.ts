// `cutover plan [inputs...]`: reads trace exports (or a Jaeger / Zipkin query
// API), builds the plan and prints it as a table, Markdown, JSON or HTML,
// optionally with a config skeleton for the first stage. What went in (files,
// spans, skips by reason, time) goes to stderr so stdout stays the plan.

import { writeFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { type Command, Option } from 'commander';
import { ModulesFileError, TraceFileError } from '../errors.ts';
import {
  emitConfig,
  formatPlanHtml,
  formatPlanJson,
  formatPlanMarkdown,
  formatPlanTable,
  loadModulesFile,
  type ModulesFile,
  PlanBuilder,
  type PlanResult,
  type ReadSummary,
  readSpans,
  type SpanProblem,
} from '../plan/index.ts';
import { openTraceQuery, parseLookback, type QueryApi } from './plan-query.ts';
import { EXIT_FAILURE, EXIT_USAGE } from './signals.ts';
import { UsageError } from './usage-error.ts';

export const PLAN_FORMATS = ['table', 'md', 'json', 'html'] as const;
export type PlanFormat = (typeof PLAN_FORMATS)[number];

/** Traces a query asks for when --limit is not given: Jaeger's and Zipkin's own default (10) is too few to plan on. */
export const DEFAULT_QUERY_LIMIT = 10_000;
/** Skipped spans listed one by one before the rest are only counted. */
const PROBLEMS_SHOWN = 10;

export interface PlanCommandOptions {
  readonly modules?: string;
  readonly format: PlanFormat;
  readonly output?: string;
  readonly emitConfig?: string;
  readonly jaeger?: string;
  readonly zipkin?: string;
  readonly service?: string;
  readonly lookback: string;
  readonly limit?: string;
}

export interface PlanIo {
  readonly stdin: Readable;
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable;
  readonly env: NodeJS.ProcessEnv;
  readonly now: () => number;
}

/** `-o` or `--emit-config` could not be written: exit 1 with the message, not a stack. */
function writeOutput(file: string, text: string): void {
  try {
    writeFileSync(file, text);
  } catch (error) {
    throw new PlanOutputError(`cannot write ${file}: ${(error as Error).message}`);
  }
}

class PlanOutputError extends Error {}

export function formatPlan(result: PlanResult, format: PlanFormat, color: boolean): string {
  if (format === 'md') return formatPlanMarkdown(result);
  if (format === 'json') return formatPlanJson(result);
  if (format === 'html') return formatPlanHtml(result);
  return formatPlanTable(result, { color });
}

function queryOf(o: PlanCommandOptions, now: number) {
  if (o.jaeger !== undefined && o.zipkin !== undefined)
    throw new UsageError('--jaeger and --zipkin cannot be used together');
  const api: QueryApi | undefined =
    o.jaeger !== undefined ? 'jaeger' : o.zipkin !== undefined ? 'zipkin' : undefined;
  if (api === undefined) return undefined;
  if (!o.service) throw new UsageError(`--${api} needs --service NAME`);
  const lookbackMs = parseLookback(o.lookback);
  if (lookbackMs === undefined)
    throw new UsageError(
      `--lookback must be a duration such as 1d, 12h or 30m, got "${o.lookback}"`,
    );
  const limit = Number(o.limit ?? DEFAULT_QUERY_LIMIT);
  if (!(Number.isInteger(limit) && limit > 0))
    throw new UsageError(`--limit must be a whole number above 0, got "${o.limit}"`);
  const url = (o.jaeger ?? o.zipkin) as string;
  if (!/^https?:\/\//.test(url))
    throw new UsageError(`--${api} must be an http(s) URL, got "${url}"`);
  return { api, url, service: o.service, lookbackMs, limit, endMs: now };
}

function describeRead(summary: ReadSummary, source: string, ms: number): string {
  const skipped = Object.entries(summary.skipped)
    .map(([reason, n]) => `${reason}: ${n}`)
    .join(', ');
  const files = summary.files.length === 1 ? '1 file' : `${summary.files.length} files`;
  return (
    `cutover plan: read ${summary.spans.toLocaleString('en-US')} spans from ${source || files}` +
    `${skipped ? `; skipped ${skipped}` : '; none skipped'}; took ${(ms / 1000).toFixed(2)} s\n`
  );
}

/** Runs the command; returns the exit code (0; 2 for a trace / modules file error or a usage error; 1 when the output cannot be written). */
export async function runPlan(
  inputs: readonly string[],
  o: PlanCommandOptions,
  io: PlanIo,
): Promise<number> {
  const started = performance.now();
  try {
    const query = queryOf(o, io.now());
    if (query && inputs.includes('-'))
      throw new UsageError(`--${query.api} reads the query's answer in place of stdin: drop "-"`);
    if (!query && inputs.length === 0)
      throw new UsageError('give trace files, folders or - (stdin), or --jaeger / --zipkin URL');
    const modules: ModulesFile | undefined = o.modules ? loadModulesFile(o.modules) : undefined;
    const builder = new PlanBuilder(modules);
    let stdin = io.stdin;
    let source = '';
    if (query) {
      const answer = await openTraceQuery(query);
      stdin = answer.body;
      source = `${query.api} ${answer.url.href}${inputs.length > 0 ? ` and ${inputs.length} input(s)` : ''}`;
    }
    let problems = 0;
    const onProblem = (p: SpanProblem): void => {
      if (++problems <= PROBLEMS_SHOWN)
        io.stderr.write(
          `cutover plan: skipped span ${p.index}${p.spanId ? ` (id ${p.spanId})` : ''} of ${p.file} (${p.format}): ${p.reason}\n`,
        );
      else if (problems === PROBLEMS_SHOWN + 1)
        io.stderr.write('cutover plan: more skipped spans are only counted below\n');
    };
    let summary: ReadSummary;
    try {
      summary = await readSpans(query ? [...inputs, '-'] : inputs, {
        onSpan: (span) => builder.add(span),
        onProblem,
        stdin,
      });
    } catch (error) {
      // The answer streams in as stdin: say where it came from instead of "(stdin)".
      if (
        query &&
        error instanceof TraceFileError &&
        error.message.startsWith('trace file (stdin)')
      )
        throw new TraceFileError(source, error.message.slice('trace file (stdin): '.length), {
          cause: error,
        });
      throw error;
    }
    const result = builder.finish(summary);
    io.stderr.write(describeRead(summary, source, performance.now() - started));
    const toTerminal = o.output === undefined && io.stdout.isTTY === true && !io.env.NO_COLOR;
    const text = formatPlan(result, o.format, toTerminal);
    if (o.output !== undefined) {
      writeOutput(o.output, text);
      io.stderr.write(`cutover plan: wrote the plan (${o.format}) to ${o.output}\n`);
    } else io.stdout.write(text);
    if (o.emitConfig !== undefined) {
      writeOutput(o.emitConfig, emitConfig(result, { source: source || inputs.join(' ') }));
      const first = result.modules.filter((m) => m.stage === 'L1').length;
      io.stderr.write(
        `cutover plan: wrote a config skeleton for ${first} L1 module(s) to ${o.emitConfig}; fill in its backend URLs\n`,
      );
    }
    return 0;
  } catch (error) {
    if (
      error instanceof TraceFileError ||
      error instanceof ModulesFileError ||
      error instanceof UsageError
    ) {
      io.stderr.write(`cutover: ${error.message}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof PlanOutputError) {
      io.stderr.write(`cutover: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    throw error;
  }
}

/** Registers `cutover plan` on the program (src/cli/main.ts). */
export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description(
      'order modules for migration by how coupled they are, from trace exports (docs/plan.md)',
    )
    .argument('[inputs...]', 'trace files (Zipkin, Jaeger or OTLP JSON), folders, or - for stdin')
    .option(
      '--modules <file>',
      'modules.yaml: modules, data stores, shared columns, 2PC, cost inputs',
    )
    .addOption(
      new Option('--format <format>', 'output format').choices(PLAN_FORMATS).default('table'),
    )
    .option('-o, --output <file>', 'write the plan to this file instead of stdout')
    .option('--emit-config <file>', 'also write a Cutover config skeleton for the first stage (L1)')
    .option('--jaeger <url>', "read traces from a Jaeger query API (the UI's address)")
    .option('--zipkin <url>', 'read traces from a Zipkin query API')
    .option('--service <name>', 'the service whose traces --jaeger / --zipkin fetch')
    .option('--lookback <duration>', 'how far back --jaeger / --zipkin look (1d, 12h, 30m)', '1d')
    .option('--limit <n>', `most traces --jaeger / --zipkin fetch (default ${DEFAULT_QUERY_LIMIT})`)
    .action(async (inputs: string[], o: PlanCommandOptions) => {
      process.exitCode = await runPlan(inputs, o, {
        stdin: process.stdin,
        stdout: process.stdout,
        stderr: process.stderr,
        env: process.env,
        now: Date.now,
      });
    });
}
