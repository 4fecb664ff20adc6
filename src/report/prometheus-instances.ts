// Instance counts from Prometheus: `count(up{job="J"})` of each side's job,
// now — for `cutover report --prometheus` and GET /api/report's
// `report.instances` (docs/report.md). The query itself is rollout's
// queryPrometheus, passed in by the caller: report does not import rollout
// (DESIGN.md's arrows).
import type { ReportInstances } from '../config/index.ts';
import { PrometheusQueryError } from '../errors.ts';
import type { InstanceCounts } from './report-query.ts';

/** One instant query's number; undefined for an empty answer. Throws when the query fails. */
export type InstantQuery = (promql: string) => Promise<number | undefined>;

const upCount = (job: string) => `count(up{job=${JSON.stringify(job)}})`;

const noTarget = (url: string, job: string) => ({
  na: `Prometheus at ${url} has no target of job "${job}" (count(up) is empty)`,
});

/** Both sides' counts, or `{ na }` naming a job without a target; a failed query throws. */
export async function countInstancesInPrometheus(
  query: InstantQuery,
  url: string,
  jobs: { readonly legacy: string; readonly candidate: string },
): Promise<InstanceCounts | { readonly na: string }> {
  const [legacy, candidate] = await Promise.all([
    query(upCount(jobs.legacy)),
    query(upCount(jobs.candidate)),
  ]);
  if (legacy === undefined || !(legacy >= 1)) return noTarget(url, jobs.legacy);
  if (candidate === undefined || !(candidate >= 1)) return noTarget(url, jobs.candidate);
  return { legacy, candidate };
}

/** Asks Prometheus at `url` one instant query within `timeoutMs` (rollout's queryPrometheus). */
export type PrometheusAsk = (
  url: string,
  promql: string,
  timeoutMs: number,
) => Promise<number | undefined>;

/**
 * `report.instances`: the counts as written, or Prometheus's now. A
 * Prometheus that fails or does not answer in time costs the report its
 * throughput ratio (n/a with the reason), never the report.
 */
export async function reportInstances(
  configured: ReportInstances,
  ask: PrometheusAsk,
): Promise<InstanceCounts | { readonly na: string }> {
  if (configured.kind === 'fixed')
    return { legacy: configured.legacy, candidate: configured.candidate };
  const { url, timeoutMs } = configured;
  try {
    return await countInstancesInPrometheus((q) => ask(url, q, timeoutMs), url, {
      legacy: configured.legacyJob,
      candidate: configured.candidateJob,
    });
  } catch (error) {
    // Unreachable, timed out, an error answer, a result that is not one number.
    if (!(error instanceof PrometheusQueryError)) throw error;
    return { na: `instance counts from Prometheus at ${url}: ${error.message}` };
  }
}
