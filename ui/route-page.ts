// One route: where its rollout is and the operator's actions on it, live
// charts, gates, the timeline, shadow diffs and guards. Reads again when
// the stream says something about the route changed, and after an action.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import {
  pauseAction,
  promoteAction,
  type RouteFacts,
  resetAction,
  resumeAction,
  rollbackAction,
  setWeightAction,
  startAction,
} from './actions.ts';
import { get, seg } from './api.ts';
import { ask, onActionDone } from './confirm.ts';
import { html, STATE_LABEL, since, weight } from './format.ts';
import { Guards } from './guards.ts';
import { on } from './live.ts';
import { useNow } from './overview.ts';
import { type Move, RouteCharts } from './route-charts.ts';
import { Diffs } from './route-diffs.ts';
import { Gates, Timeline } from './route-sections.ts';
import type { BackendBreakers, LedgerEntry, RouteDetail, RouteDiffs } from './types.ts';

interface RouteData {
  detail: RouteDetail;
  history: readonly LedgerEntry[];
  diffs: RouteDiffs | undefined;
  backends: Record<string, BackendBreakers>;
}

async function load(name: string): Promise<RouteData> {
  const s = seg(name);
  const [detail, history] = await Promise.all([
    get<RouteDetail>(`/api/routes/${s}`),
    get<{ history: LedgerEntry[] }>(`/api/routes/${s}/history`),
  ]);
  const names = [detail.legacy, detail.candidate].filter((b): b is string => Boolean(b));
  const [diffs, ...breakers] = await Promise.all([
    detail.shadow ? get<RouteDiffs>(`/api/routes/${s}/diffs`) : Promise.resolve(undefined),
    ...names.map((b) => get<BackendBreakers>(`/api/backends/${seg(b)}/breaker`)),
  ]);
  const backends: Record<string, BackendBreakers> = {};
  for (const b of breakers) backends[b.backend] = b;
  return { detail, history: history.history, diffs, backends };
}

function Actions(props: { facts: RouteFacts }) {
  const f = props.facts;
  const r = f.rollout;
  const [to, setTo] = useState(String(f.weight));
  const state = r?.state ?? 'off';
  const moving = state === 'shadow' || state === 'canary';
  const step = r ? promoteAction(f, false) : undefined;
  const full = r ? promoteAction(f, true) : undefined;
  const setWeight = (e: SubmitEvent) => {
    e.preventDefault();
    const n = Number(to);
    if (Number.isFinite(n) && n >= 0 && n <= 100) ask(setWeightAction(f, n));
  };
  return html`<div class="actions" role="group" aria-label="Actions on this route">
    ${moving ? html`<button type="button" onClick=${() => ask(pauseAction(f))}>Pause</button>` : null}
    ${state === 'paused' ? html`<button type="button" onClick=${() => ask(resumeAction(f))}>Resume</button>` : null}
    ${(moving || state === 'paused') && step ? html`<button type="button" onClick=${() => ask(step)}>${step.title}</button>` : null}
    ${(moving || state === 'paused') && full ? html`<button type="button" onClick=${() => ask(full)}>Promote to 100%</button>` : null}
    ${moving || state === 'paused' || (state === 'done' && f.weight > 0) ? html`<button type="button" class="danger" onClick=${() => ask(rollbackAction(f))}>Roll back</button>` : null}
    ${r && (state === 'rolled-back' || state === 'off' || state === 'done') ? html`<button type="button" onClick=${() => ask(startAction(f))}>Start rollout</button>` : null}
    ${r ? html`<button type="button" onClick=${() => ask(resetAction(f))}>Reset</button>` : null}
    ${
      !r || state === 'off'
        ? html`<form class="inline" onSubmit=${setWeight}>
      <label for="weight-input">Weight (%)</label>
      <input id="weight-input" type="number" min="0" max="100" step="0.01" value=${to}
        onInput=${(e: InputEvent) => setTo((e.currentTarget as HTMLInputElement).value)} />
      <button type="submit">Set weight</button>
    </form>`
        : null
    }
  </div>`;
}

export function RoutePage(props: { name: string; operator: boolean }) {
  const [data, setData] = useState<RouteData | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const now = useNow();
  const latest = useRef<RouteData | undefined>(undefined);
  latest.current = data;

  useEffect(() => {
    let stale = false;
    let pending = false;
    const refresh = () => {
      if (pending) return;
      pending = true;
      load(props.name)
        .then((d) => {
          if (!stale) {
            setData(d);
            setError(undefined);
          }
        })
        .catch((e: unknown) => !stale && setError(e instanceof Error ? e.message : String(e)))
        .finally(() => {
          pending = false;
        });
    };
    refresh();
    // The overview event comes once a second when anything changed: enough to follow this route.
    const offs = [
      on('overview', (o) => {
        const r = o.routes.find((x) => x.name === props.name);
        const d = latest.current?.detail;
        if (r && d && (r.state !== (d.rollout?.state ?? 'off') || r.weight !== d.weight)) refresh();
      }),
      on('ledger', (e) => e.route === props.name && refresh()),
      on('breaker', refresh),
      onActionDone(refresh),
    ];
    return () => {
      stale = true;
      for (const off of offs) off();
    };
  }, [props.name]);

  const moves = useMemo<Move[]>(
    () =>
      (data?.history ?? [])
        .filter((e) => e.kind === 'transition' || e.previousWeight !== e.weight)
        .map((e) => ({
          t: Date.parse(e.at) / 1000,
          label: `${e.from} → ${e.to}`,
          rollback: e.to === 'rolled-back' && e.from !== 'rolled-back',
        })),
    [data?.history],
  );

  if (error && !data)
    return html`<main><h1>${props.name}</h1><p class="error" role="alert">${error}</p></main>`;
  if (!data) return html`<main><h1>${props.name}</h1><p>Loading…</p></main>`;
  const d = data.detail;
  const r = d.rollout;
  const facts: RouteFacts = {
    name: d.name,
    weight: d.weight,
    configWeight: d.configWeight,
    rollout: r,
  };
  return html`<main>
    <p class="crumbs"><a href="#/routes">All routes</a> · <a href=${`#/report/${seg(d.name)}`}>Report of ${d.name}</a></p>
    <h1>${d.name}</h1>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    <p class="route-state">
      <span class=${`badge badge-${r?.state ?? 'off'}`}>${STATE_LABEL[r?.state ?? 'off']}</span>
      ${r?.step !== null && r?.step !== undefined ? html` step ${r.step + 1} of ${r.steps.length} ` : null}
      — weight <strong>${weight(d.weight)}</strong> on <code>${d.candidate ?? 'no candidate'}</code>, the rest on <code>${d.legacy}</code>
      ${r?.since ? html` — for ${since(r.since, now)}` : null}
    </p>
    ${props.operator ? html`<${Actions} key=${`${r?.state}-${d.weight}`} facts=${facts} />` : null}
    <${RouteCharts} name=${d.name} moves=${moves} />
    <div class="columns">
      <${Gates} rollout=${r} />
      <${Guards} legacy=${d.breakers.legacy} candidate=${d.breakers.candidate} backends=${data.backends}
        limit=${d.limit} concurrency=${d.concurrency} operator=${props.operator} />
    </div>
    <${Timeline} history=${data.history} />
    ${d.shadow ? html`<${Diffs} diffs=${data.diffs} />` : null}
  </main>`;
}
