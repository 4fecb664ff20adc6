// A route's guards: the breaker of each backend (state, figures, forced),
// with force open / closed / release for operators; the backends' instances
// (health, ejection); limiter and shedding figures as the route detail
// reports them.
import { useEffect, useState } from 'preact/hooks';
import { forceBreakerAction } from './actions.ts';
import { ask } from './confirm.ts';
import { html, percent } from './format.ts';
import { type LiveEvents, on } from './live.ts';
import type { BackendBreakers, BreakerSnapshot } from './types.ts';

function BreakerRow(props: {
  side: string;
  snap: BreakerSnapshot | null;
  backend: BackendBreakers | undefined;
  operator: boolean;
}) {
  const { side, snap, backend, operator } = props;
  if (!snap) return null;
  const routes = backend ? Object.keys(backend.routes) : [snap.route];
  const force = (state: 'open' | 'closed' | 'auto') =>
    ask(forceBreakerAction(snap.backend, state, routes));
  // Four columns, figures stacked in their cell, buttons wrapping: the table
  // fits half of a 1280 px page (issue 14) and scrolls in its box on a phone.
  return html`<tr>
    <th scope="row">${side}: <code>${snap.backend}</code></th>
    <td><span class=${`badge breaker-${snap.state}`}>${snap.state}</span>${snap.forced ? html` <em>(forced)</em>` : null}${
      snap.openedAt
        ? html`<br /><span class="hint">opened ${new Date(snap.openedAt).toLocaleTimeString([], { hour12: false })}</span>`
        : null
    }</td>
    <td class="num">${snap.calls} calls<br />${percent(snap.errorRatio)} errors</td>
    ${
      operator
        ? html`<td class="force">
      <button type="button" onClick=${() => force('open')}>Force open</button>
      <button type="button" onClick=${() => force('closed')}>Force closed</button>
      <button type="button" onClick=${() => force('auto')} disabled=${!snap.forced && !backend?.forced}>Auto</button>
    </td>`
        : null
    }
  </tr>`;
}

/** Every instance of the route's backends: health checks and outlier ejection. */
function Instances(props: { backends: readonly (BackendBreakers | undefined)[] }) {
  const rows = props.backends.flatMap((b) =>
    b ? b.instances.map((i) => ({ backend: b.backend, ...i })) : [],
  );
  if (rows.length === 0) return null;
  return html`<h3>Instances</h3><div class="table-wrap"><table class="instances">
    <caption>Backend instances (an ejected instance gets no traffic until the time shown)</caption>
    <thead><tr><th scope="col">Backend</th><th scope="col">Instance</th><th scope="col">Health</th><th scope="col">Ejected</th><th scope="col" class="num">Errors in a row</th></tr></thead>
    <tbody>${rows.map(
      (r) => html`<tr>
        <td><code>${r.backend}</code></td>
        <td><code>${r.url}</code></td>
        <td><span class=${`badge ${r.healthy ? 'breaker-closed' : 'breaker-open'}`}>${r.healthy ? 'healthy' : 'down'}</span></td>
        <td>${r.ejectedUntil ? html`<span class="badge breaker-open">until ${new Date(r.ejectedUntil).toLocaleTimeString([], { hour12: false })}</span>` : 'no'}</td>
        <td class="num">${r.consecutiveErrors}</td>
      </tr>`,
    )}</tbody>
  </table></div>`;
}

function Figures(props: { label: string; value: unknown }) {
  if (props.value === null || props.value === undefined) return null;
  const entries =
    typeof props.value === 'object' ? Object.entries(props.value as Record<string, unknown>) : [];
  return html`<div class="figures"><h3>${props.label}</h3><dl>${entries.map(
    ([k, v]) =>
      html`<dt>${k}</dt><dd>${typeof v === 'object' ? JSON.stringify(v) : String(v)}</dd>`,
  )}</dl></div>`;
}

/** Breaker transitions shown per route page: the latest ones, since the page opened. */
const TRANSITIONS_SHOWN = 10;

interface Transition {
  readonly at: Date;
  readonly event: LiveEvents['breaker'];
}

/** The breaker transitions of these backends as the stream reports them, newest first. */
function useTransitions(backends: readonly string[]): readonly Transition[] {
  const [list, setList] = useState<readonly Transition[]>([]);
  const key = backends.join('\u0000');
  useEffect(
    () =>
      on('breaker', (event) => {
        if (!backends.includes(event.backend)) return;
        setList((l) => [{ at: new Date(), event }, ...l].slice(0, TRANSITIONS_SHOWN));
      }),
    [key],
  );
  return list;
}

export function Guards(props: {
  legacy: BreakerSnapshot | null;
  candidate: BreakerSnapshot | null;
  backends: Readonly<Record<string, BackendBreakers>>;
  limit: unknown;
  concurrency: unknown;
  operator: boolean;
}) {
  const { legacy, candidate, backends, operator } = props;
  const transitions = useTransitions(
    [legacy?.backend, candidate?.backend].filter((b): b is string => Boolean(b)),
  );
  return html`<section aria-labelledby="guards-title">
    <h2 id="guards-title">Guards</h2>
    ${
      legacy || candidate
        ? html`<div class="table-wrap"><table class="breakers">
      <caption>Breakers on this route (a forced state holds for every route of the backend)</caption>
      <thead><tr><th scope="col">Backend</th><th scope="col">State</th><th scope="col" class="num">Window</th>${operator ? html`<th scope="col">Force</th>` : null}</tr></thead>
      <tbody>
        <${BreakerRow} side="legacy" snap=${legacy} backend=${legacy ? backends[legacy.backend] : undefined} operator=${operator} />
        <${BreakerRow} side="candidate" snap=${candidate} backend=${candidate ? backends[candidate.backend] : undefined} operator=${operator} />
      </tbody>
    </table></div>`
        : html`<p>No breaker on this route.</p>`
    }
    <h3>Recent breaker transitions</h3>
    ${
      transitions.length === 0
        ? html`<p>None since this page opened.</p>`
        : html`<ul class="transitions">${transitions.map(
            (t) =>
              html`<li><time>${t.at.toLocaleTimeString([], { hour12: false })}</time> <code>${t.event.backend}</code>${t.event.instance ? ` on ${t.event.instance}` : ''} → <span class=${`badge breaker-${t.event.state}`}>${t.event.state}</span></li>`,
          )}</ul>`
    }
    <${Instances} backends=${[...new Set([legacy?.backend, candidate?.backend])].map((b) => (b ? backends[b] : undefined))} />
    <${Figures} label="Rate limit" value=${props.limit} />
    <${Figures} label="Concurrency and shedding" value=${props.concurrency} />
  </section>`;
}
