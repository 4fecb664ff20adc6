// `report.plan`: a `cutover plan --format json` output the gateway serves at
// GET /api/plan and uses as the report's cost model (as `cutover report
// --plan` does). Read at config load, so a missing or malformed file is a
// config error naming it — at start, on `cutover validate` and on a reload.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PathIssue } from './normalize.ts';
import type { ReportPlan } from './types.ts';

/** The plan file, resolved against the config's directory; its problem pushed to `issues`. */
export function readReportPlan(
  file: string,
  baseDir: string,
  issues: PathIssue[],
): ReportPlan | undefined {
  const path = resolve(baseDir, file);
  const at = ['report', 'plan'];
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    issues.push({ path: at, message: `cannot read the plan ${path}: ${code}` });
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    issues.push({ path: at, message: `${path} is not JSON (${(error as Error).message})` });
    return undefined;
  }
  const modules = (json as { modules?: unknown } | null)?.modules;
  if (typeof json !== 'object' || json === null || !Array.isArray(modules)) {
    issues.push({
      path: at,
      message: `${path}: expected the output of cutover plan --format json (an object with modules: [...])`,
    });
    return undefined;
  }
  return Object.freeze({ file: path, json: json as ReportPlan['json'] });
}
