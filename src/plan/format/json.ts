// `cutover plan --format json`: the PlanResult itself (docs/plan.md, "JSON
// output"). `undefined` fields (no cost inputs, no pair) are left out, as
// JSON.stringify does; readers treat a missing field as "none".
import type { PlanResult } from '../plan-result.ts';

export function formatPlanJson(result: PlanResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}
