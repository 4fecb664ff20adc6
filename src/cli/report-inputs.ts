// What `cutover report` reads besides the state store, each checked here so a
// bad value is a usage error naming the flag (exit 2), never a stack trace:
// the span (--since/--until), the instance counts (--instances or
// Prometheus), the incidents CSV and the plan's JSON.
import { readFileSync } from 'node:fs';
import { parseDuration } from '../config/index.ts';
import type { PlanResult } from '../plan/index.ts';
import { queryPrometheus } from '../rollout/index.ts';
import { UsageError } from './usage-error.ts';

/** `7d`, `12h`, `90m` (that long before `now`) or an ISO 8601 date/time; epoch ms. */
export function parseWhen(flag: string, text: string, now: number): number {
  const ago = parseDuration(text);
  if (ago !== undefined) return now - ago;
  // A bare number is neither: Date.parse would read it as a year.
  const at = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(at))
    throw new UsageError(
      `${flag} must be a duration ago (7d, 12h, 30m) or an ISO date (2026-11-01, 2026-11-01T12:00:00Z), got "${text}"`,
    );
  return at;
}

export interface InstanceCounts {
  readonly legacy: number;
  readonly candidate: number;
}

/** `legacy=N,candidate=M` (both, whole numbers above 0). */
export function parseInstances(text: string): InstanceCounts {
  const counts: Record<string, number> = {};
  for (const part of text.split(',')) {
    const m = /^\s*(legacy|candidate)\s*=\s*(\d+)\s*$/.exec(part);
    if (!m || Number(m[2]) < 1)
      throw new UsageError(
        `--instances must be legacy=N,candidate=M with whole numbers above 0, got "${text}"`,
      );
    counts[m[1]] = Number(m[2]);
  }
  if (counts.legacy === undefined || counts.candidate === undefined)
    throw new UsageError(`--instances must name both legacy=N and candidate=M, got "${text}"`);
  return { legacy: counts.legacy, candidate: counts.candidate };
}

/** Instance counts from Prometheus: `count(up{job="J"})` for each job, now. */
export async function prometheusInstances(
  url: string,
  legacyJob: string,
  candidateJob: string,
  timeoutMs = 5_000,
): Promise<InstanceCounts> {
  const count = async (job: string): Promise<number> => {
    const n = await queryPrometheus(url, `count(up{job=${JSON.stringify(job)}})`, { timeoutMs });
    if (n === undefined || !(n >= 1))
      throw new UsageError(
        `Prometheus at ${url} has no target of job "${job}" (count(up) is empty)`,
      );
    return n;
  };
  const [legacy, candidate] = await Promise.all([count(legacyJob), count(candidateJob)]);
  return { legacy, candidate };
}

/** One incident the user imports: when, and optionally what. */
export interface ImportedIncident {
  /** ISO 8601. */
  readonly at: string;
  readonly description: string;
}

/**
 * An incidents CSV: a header line naming at least a `date` (or `at`, `time`)
 * column, an optional `description` (or `title`, `summary`) column; one
 * incident a line. Quoted fields may hold commas and doubled quotes (RFC 4180).
 */
export function readIncidentsCsv(file: string): ImportedIncident[] {
  const text = readText('--incidents', file);
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new UsageError(`--incidents ${file}: the file is empty`);
  const header = csvFields(lines[0]).map((h) => h.trim().toLowerCase());
  const dateAt = header.findIndex((h) => h === 'date' || h === 'at' || h === 'time');
  const textAt = header.findIndex((h) => h === 'description' || h === 'title' || h === 'summary');
  if (dateAt < 0)
    throw new UsageError(
      `--incidents ${file}: the first line must name the columns, one of them date (got "${lines[0]}")`,
    );
  return lines.slice(1).map((line, i) => {
    const fields = csvFields(line);
    const raw = (fields[dateAt] ?? '').trim();
    const at = Date.parse(raw);
    if (!/^\d{4}-\d{2}-\d{2}/.test(raw) || Number.isNaN(at))
      throw new UsageError(
        `--incidents ${file}:${i + 2}: expected an ISO date in column ${header[dateAt]}, got "${raw}"`,
      );
    return {
      at: new Date(at).toISOString(),
      description: textAt >= 0 ? (fields[textAt] ?? '').trim() : '',
    };
  });
}

/** The fields of one CSV line (RFC 4180 quoting; no line breaks inside quotes). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
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
