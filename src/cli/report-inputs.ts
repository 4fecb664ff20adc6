// What `cutover report` reads besides the state store, each checked here so a
// bad value is a usage error naming the flag (exit 2), never a stack trace:
// the span (--since/--until), the instance counts (--instances or
// Prometheus), the incidents CSV and the plan's JSON.
import { readFileSync } from 'node:fs';
import { parseIncidentsCsv } from '../config/index.ts';
import { IncidentsFileError } from '../errors.ts';
import type { PlanResult } from '../plan/index.ts';
import {
  countInstancesInPrometheus,
  type ImportedIncident,
  type InstanceCounts,
  instanceCountsFromText,
  timeFromText,
} from '../report/index.ts';
import { queryPrometheus } from '../rollout/index.ts';
import { UsageError } from './usage-error.ts';

/** `7d`, `12h`, `90m` (that long before `now`) or an ISO 8601 date/time; epoch ms. */
export function parseWhen(flag: string, text: string, now: number): number {
  const at = timeFromText(text, now);
  if (at === undefined)
    throw new UsageError(
      `${flag} must be a duration ago (7d, 12h, 30m) or an ISO date (2026-11-01, 2026-11-01T12:00:00Z), got "${text}"`,
    );
  return at;
}

/** `legacy=N,candidate=M` (both, whole numbers above 0). */
export function parseInstances(text: string): InstanceCounts {
  const counts = instanceCountsFromText(text);
  if (counts === 'malformed')
    throw new UsageError(
      `--instances must be legacy=N,candidate=M with whole numbers above 0, got "${text}"`,
    );
  if (counts === 'incomplete')
    throw new UsageError(`--instances must name both legacy=N and candidate=M, got "${text}"`);
  return counts;
}

/** Instance counts from Prometheus: `count(up{job="J"})` for each job, now. */
export async function prometheusInstances(
  url: string,
  legacyJob: string,
  candidateJob: string,
  timeoutMs = 5_000,
): Promise<InstanceCounts> {
  const counts = await countInstancesInPrometheus(
    (query) => queryPrometheus(url, query, { timeoutMs }),
    url,
    { legacy: legacyJob, candidate: candidateJob },
  );
  if ('na' in counts) throw new UsageError(counts.na);
  return counts;
}

/** The incidents CSV (src/report/incidents-csv.ts reads it: date,kind,route,note). */
export function readIncidentsCsv(file: string): ImportedIncident[] {
  const text = readText('--incidents', file);
  try {
    return parseIncidentsCsv(text, file);
  } catch (error) {
    if (error instanceof IncidentsFileError) throw new UsageError(`--incidents: ${error.message}`);
    throw error;
  }
}

/** A `cutover plan --format json` output (its modules with their cost models). */
export function readPlanJson(file: string): PlanResult {
  const text = readText('--plan', file);
  let plan: unknown;
  try {
    plan = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--plan ${file}: not JSON (${(error as Error).message})`);
  }
  const modules = (plan as { modules?: unknown } | null)?.modules;
  if (!Array.isArray(modules))
    throw new UsageError(
      `--plan ${file}: expected the output of cutover plan --format json (an object with modules: [...])`,
    );
  return plan as PlanResult;
}

function readText(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(
      `${flag} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}
