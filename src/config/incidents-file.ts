// `report.incidents`: the incidents CSV GET /api/report adds to the
// gateway's own incidents (as `cutover report --incidents` does). Read at
// config load, as `report.plan` is, so a missing file or a bad line is a
// config error naming the file and the line — at start, on `cutover
// validate` and on a reload.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { readIncidentsCsvText } from './incidents-csv.ts';
import type { PathIssue } from './normalize.ts';
import type { ReportIncidents } from './types.ts';

// Every bad line is named, up to this many: a file of the wrong kind would
// otherwise bury the config's other problems under one line each.
const MAX_LINE_ISSUES = 10;

/** The incidents file, resolved against the config's directory; its problems pushed to `issues`. */
export function readReportIncidents(
  file: string,
  baseDir: string,
  issues: PathIssue[],
): ReportIncidents | undefined {
  const path = resolve(baseDir, file);
  const at = ['report', 'incidents'];
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    issues.push({ path: at, message: `cannot read the incidents ${path}: ${code}` });
    return undefined;
  }
  const { incidents, problems } = readIncidentsCsvText(text);
  for (const p of problems.slice(0, MAX_LINE_ISSUES))
    issues.push({ path: at, message: `${path}:${p.line}: ${p.reason}` });
  if (problems.length > MAX_LINE_ISSUES)
    issues.push({
      path: at,
      message: `${path}: ${problems.length - MAX_LINE_ISSUES} more bad lines`,
    });
  if (problems.length > 0) return undefined;
  return Object.freeze({ file: path, list: Object.freeze(incidents.map((i) => Object.freeze(i))) });
}
