// A route's gates (value against threshold, what data they still need) and
// its timeline from the ledger, with the figures behind every decision and
// a rollback's cause set apart.
import { useState } from 'preact/hooks';
import { gateValue, html, STATE_LABEL, time, weight } from './format.ts';
import type { GateResult, LedgerEntry, RolloutStatus } from './types.ts';

function GateRows(props: { gates: readonly GateResult[] }) {
  return html`${props.gates.map(
    (g) => html`<tr class=${`gate-${g.status}`}>
      <th scope="row">${g.name}</th>
      <td><span class=${`badge gate-badge-${g.status}`}>${g.status}</span></td>
      <td class="num">${gateValue(g.value, g.unit)}</td>
      <td class="num">${g.bound === 'max' ? '≤' : '≥'} ${gateValue(g.threshold, g.unit)}</td>
      <td>${g.detail}</td>
    </tr>`,
  )}`;
}

function GateTable(props: { gates: readonly GateResult[]; caption: string }) {
  return html`<table class="gates">
    <caption>${props.caption}</caption>
    <thead><tr><th scope="col">Gate</th><th scope="col">Status</th><th scope="col" class="num">Value</th><th scope="col" class="num">Threshold</th><th scope="col">Data / why</th></tr></thead>
    <tbody><${GateRows} gates=${props.gates} /></tbody>
  </table>`;
}

export function Gates(props: { rollout: RolloutStatus | null }) {
  const r = props.rollout;
  if (!r)
    return html`<section><h2>Gates</h2><p>No rollout on this route: its weight is set by hand.</p></section>`;
  return html`<section aria-labelledby="gates-title">
    <h2 id="gates-title">Gates</h2>
    <p>${r.waitingFor ? html`Waiting for: <strong>${r.waitingFor}</strong>` : r.reason}
      ${r.failures > 0 ? html` — <strong class="bad">${r.failures} of ${r.failureLimit} failed checks in a row before a rollback</strong>` : null}</p>
    ${r.gates.length > 0 ? html`<${GateTable} gates=${r.gates} caption="The last check" />` : html`<p>No check yet in this phase.</p>`}
  </section>`;
}

/** Who made a move: the signed-in name and role for dashboard actions, else the actor. */
export function whoOf(e: LedgerEntry): string {
  return e.who ? `${e.who.name} (${e.who.role})` : e.by;
}

function Entry(props: { e: LedgerEntry }) {
  const { e } = props;
  const rollback = e.to === 'rolled-back' && e.from !== 'rolled-back';
  const failed = e.gates.filter((g) => g.status === 'failed');
  const move =
    e.from === e.to && e.previousWeight === e.weight
      ? `${STATE_LABEL[e.to] ?? e.to} at ${weight(e.weight)}`
      : `${STATE_LABEL[e.from] ?? e.from} ${weight(e.previousWeight)} → ${STATE_LABEL[e.to] ?? e.to} ${weight(e.weight)}`;
  return html`<li class=${`entry entry-${e.kind}${rollback ? ' rollback' : ''}`}>
    <div class="entry-head">
      <time datetime=${e.at}>${time(e.at)}</time>
      <strong>${move}</strong>
      <span class="by">by ${whoOf(e)}</span>
    </div>
    ${
      rollback
        ? html`<p class="cause" role="note"><strong>Rolled back because:</strong> ${e.reason}${failed.length > 0 ? ` (${failed.map((g) => `${g.name} ${gateValue(g.value, g.unit)} against ${gateValue(g.threshold, g.unit)}`).join('; ')})` : ''}</p>`
        : html`<p class="reason">${e.reason}</p>`
    }
    ${e.gates.length > 0 ? html`<details><summary>The figures (${e.gates.length} gate${e.gates.length === 1 ? '' : 's'})</summary><${GateTable} gates=${e.gates} caption=${`Gates at ${time(e.at)}`} /></details>` : null}
  </li>`;
}

export function Timeline(props: { history: readonly LedgerEntry[] }) {
  const [all, setAll] = useState(false);
  const shown = props.history.filter((e) => all || e.kind !== 'gates').toReversed();
  return html`<section aria-labelledby="timeline-title">
    <h2 id="timeline-title">Timeline</h2>
    <label class="inline"><input type="checkbox" checked=${all} onChange=${() => setAll(!all)} /> Show every check, not only the moves</label>
    ${shown.length === 0 ? html`<p>Nothing recorded yet.</p>` : html`<ol class="timeline">${shown.map((e) => html`<${Entry} key=${`${e.at}-${e.kind}`} e=${e} />`)}</ol>`}
  </section>`;
}
