// Instance counts from Prometheus: `count(up{job="J"})` of each side's job,
// now — for `cutover report --prometheus` and GET /api/report's
// `report.instances` (docs/report.md). The query itself is rollout's
// queryPrometheus, passed in by the caller: report does not import rollout
// (DESIGN.md's arrows).
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
