// The migration plan (GET /api/plan: `report.plan`, the output of `cutover
// plan --format json`): the modules in migration order, each stage coloured
// and labelled (colour is never the only sign), with the pair that set its
// score, its traffic and its cost.
import { useEffect, useState } from 'preact/hooks';
import { get } from './api.ts';
import { html } from './format.ts';
import type { PlanJson, PlanModule } from './types.ts';

const STAGE_LABEL = {
  L1: 'L1 · migrate first',
  L2: 'L2 · after L1',
  L3: 'L3 · decouple first',
} as const;

/** Whether the gateway serves a plan (GET /api/views): the nav shows Plan only then. */
export async function planConfigured(): Promise<boolean> {
  return (await get<{ plan: boolean }>('/api/views')).plan;
}

const fixed = (n: number, d = 2) => n.toFixed(d);

function ModuleRow(props: { m: PlanModule; perDay: number }) {
  const { m } = props;
  const p = m.pair;
  return html`<tr class=${`stage-${m.stage}`}>
    <th scope="row">${m.name}</th>
    <td><span class=${`badge stage-badge-${m.stage}`}>${STAGE_LABEL[m.stage]}</span></td>
    <td class="num">${fixed(m.score)}</td>
    <td>${p ? html`<code>${p.with}</code>` : '–'}</td>
    <td class="num">${p ? fixed(p.callRatio) : '–'}</td>
    <td class="num">${p ? p.sharedColumns : '–'}</td>
    <td class="num">${p ? p.txHops : '–'}</td>
    <td class="num">${Math.round(m.traffic / props.perDay).toLocaleString()}</td>
    <td class="num">${m.cost ? `${fixed(m.cost.days, 1)} d` : '–'}</td>
  </tr>`;
}

export function PlanPage() {
  const [plan, setPlan] = useState<PlanJson | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    get<PlanJson>('/api/plan')
      .then(setPlan)
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, []);
  if (error)
    return html`<main><h1>Migration plan</h1><p class="error" role="alert">${error}</p></main>`;
  if (!plan) return html`<main><h1>Migration plan</h1><p>Loading…</p></main>`;
  // Traffic as the plan's own figure per day of traces (at least a minute).
  const perDay = plan.traces?.days && plan.traces.days > 0 ? plan.traces.days : 1;
  return html`<main>
    <h1>Migration plan</h1>
    <p class="hint">From <code>report.plan</code>: ${plan.modules.length} modules in migration order. Stage by coupling score: L1 ≤ 0.2, L2 up to 0.5, L3 above (docs/plan.md).</p>
    <div class="table-wrap"><table class="plan">
      <caption class="visually-hidden">Modules of the migration plan</caption>
      <thead><tr><th scope="col">Module</th><th scope="col">Stage</th><th scope="col">Score</th><th scope="col">Pair</th>
        <th scope="col">Call ratio</th><th scope="col">Shared columns</th><th scope="col">Tx hops</th>
        <th scope="col">Calls a day</th><th scope="col">Cost</th></tr></thead>
      <tbody>${plan.modules.map((m) => html`<${ModuleRow} key=${m.name} m=${m} perDay=${perDay} />`)}</tbody>
    </table></div>
  </main>`;
}
