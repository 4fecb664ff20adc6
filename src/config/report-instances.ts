// `report.instances`: the instance counts GET /api/report uses when the
// request gives none — as written (`{ legacy: 4, candidate: 2 }`), or the
// Prometheus jobs whose `count(up{job="J"})` is read at report time (as
// `cutover report --prometheus URL --legacy-job J --candidate-job K`).
import { DEFAULTS } from './defaults.ts';
import type { PathIssue } from './normalize.ts';
import type { RawConfig } from './schema.ts';
import type { ReportInstances } from './types.ts';

type RawInstances = NonNullable<NonNullable<RawConfig['report']>['instances']>;

const FORMS =
  'expected either { legacy: N, candidate: M } or { prometheus: URL, legacyJob: J, candidateJob: K }';

/** The resolved block, or undefined (absent, or its problems pushed to `issues`). */
export function reportInstances(
  raw: RawInstances | undefined,
  issues: PathIssue[],
): ReportInstances | undefined {
  if (raw === undefined) return undefined;
  const at = ['report', 'instances'];
  const fixed = raw.legacy !== undefined || raw.candidate !== undefined;
  const jobs =
    raw.prometheus !== undefined ||
    raw.legacyJob !== undefined ||
    raw.candidateJob !== undefined ||
    raw.timeout !== undefined;
  if (fixed === jobs) {
    issues.push({ path: at, message: fixed ? `${FORMS}, not both` : FORMS });
    return undefined;
  }
  if (fixed) {
    if (raw.legacy === undefined || raw.candidate === undefined) {
      issues.push({ path: at, message: 'expected both legacy: N and candidate: M' });
      return undefined;
    }
    return Object.freeze({ kind: 'fixed', legacy: raw.legacy, candidate: raw.candidate });
  }
  const { prometheus, legacyJob, candidateJob } = raw;
  if (prometheus === undefined || legacyJob === undefined || candidateJob === undefined) {
    const missing = Object.entries({ prometheus, legacyJob, candidateJob })
      .filter(([, value]) => value === undefined)
      .map(([name]) => name);
    issues.push({
      path: at,
      message: `counting in Prometheus needs prometheus, legacyJob and candidateJob (missing: ${missing.join(', ')})`,
    });
    return undefined;
  }
  return Object.freeze({
    kind: 'prometheus',
    url: prometheus,
    legacyJob,
    candidateJob,
    timeoutMs: raw.timeout ?? DEFAULTS.reportPrometheusTimeout,
  });
}
