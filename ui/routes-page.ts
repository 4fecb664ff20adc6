// All routes in one table: where each rollout is, what it waits for, and
// the candidate beside legacy. Sortable by any column (buttons in the
// headers, aria-sort says the order), filtered by chips and by name.
import { useMemo, useState } from 'preact/hooks';
import { duration, html, ms, percent, rps, STATE_LABEL, weight } from './format.ts';
import { useNow, useOverview } from './overview.ts';
import type { OverviewRoute, SideFigures } from './types.ts';

type Chip = 'waiting' | 'rolled-back' | 'shadow';
const CHIPS: readonly { id: Chip; label: string; test: (r: OverviewRoute) => boolean }[] = [
  { id: 'waiting', label: 'waiting', test: (r) => Boolean(r.waitingFor) },
  { id: 'rolled-back', label: 'rolled back', test: (r) => r.state === 'rolled-back' },
  { id: 'shadow', label: 'in shadow', test: (r) => r.state === 'shadow' },
];

interface Column {
  readonly id: string;
  readonly label: string;
  readonly value: (r: OverviewRoute, now: number) => number | string | null;
  readonly numeric?: boolean;
}

const side = (s: SideFigures | null, k: keyof SideFigures) => s?.[k] ?? null;
const COLUMNS: readonly Column[] = [
  { id: 'name', label: 'Route', value: (r) => r.name },
  { id: 'state', label: 'State', value: (r) => r.state },
  { id: 'step', label: 'Step', value: (r) => r.step, numeric: true },
  { id: 'weight', label: 'Weight', value: (r) => r.weight, numeric: true },
  {
    id: 'since',
    label: 'In state',
    value: (r, now) => (r.since ? now - Date.parse(r.since) : null),
    numeric: true,
  },
  { id: 'waiting', label: 'Waiting for', value: (r) => r.waitingFor },
  { id: 'rps', label: 'Req/s C | L', value: (r) => side(r.candidate, 'rps'), numeric: true },
  { id: 'err', label: 'Errors C | L', value: (r) => side(r.candidate, 'errorRate'), numeric: true },
  { id: 'p99', label: 'p99 C | L', value: (r) => side(r.candidate, 'p99'), numeric: true },
  { id: 'mismatch', label: 'Mismatch', value: (r) => r.mismatchRate, numeric: true },
];

function compare(a: number | string | null, b: number | string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return typeof a === 'number' && typeof b === 'number'
    ? a - b
    : String(a).localeCompare(String(b));
}

function pair(c: string, l: string) {
  return html`<span class="cand">${c}</span> <span class="sep">|</span> <span class="leg">${l}</span>`;
}

function Row(props: { r: OverviewRoute; now: number }) {
  const { r, now } = props;
  const c = r.candidate;
  const l = r.legacy;
  return html`<tr class=${`state-${r.state}`}>
    <th scope="row"><a href=${`#/route/${encodeURIComponent(r.name)}`}>${r.name}</a></th>
    <td><span class=${`badge badge-${r.state}`}>${STATE_LABEL[r.state] ?? r.state}</span></td>
    <td class="num">${r.step === null ? '–' : r.step + 1}</td>
    <td class="num">${weight(r.weight)}</td>
    <td class="num">${r.since ? duration(now - Date.parse(r.since)) : '–'}</td>
    <td class="waiting">${r.waitingFor ?? ''}</td>
    <td class="num">${pair(rps(c?.rps), rps(l?.rps))}</td>
    <td class="num">${pair(percent(c?.errorRate), percent(l?.errorRate))}</td>
    <td class="num">${pair(ms(c?.p99), ms(l?.p99))}</td>
    <td class="num">${percent(r.mismatchRate)}</td>
  </tr>`;
}

export function RoutesPage() {
  const { overview, error } = useOverview();
  const now = useNow();
  const [sort, setSort] = useState<{ id: string; dir: 1 | -1 }>({ id: 'name', dir: 1 });
  const [chips, setChips] = useState<ReadonlySet<Chip>>(new Set());
  const [text, setText] = useState('');

  const rows = useMemo(() => {
    const column = COLUMNS.find((c) => c.id === sort.id) ?? COLUMNS[0];
    const needle = text.trim().toLowerCase();
    return (overview?.routes ?? [])
      .filter((r) => CHIPS.every((c) => !chips.has(c.id) || c.test(r)))
      .filter((r) => !needle || r.name.toLowerCase().includes(needle))
      .toSorted((a, b) => sort.dir * compare(column.value(a, now), column.value(b, now)));
  }, [overview, sort, chips, text, now]);

  const toggle = (id: Chip) => {
    const next = new Set(chips);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setChips(next);
  };
  const sortBy = (id: string) =>
    setSort((s) => ({ id, dir: s.id === id ? (s.dir === 1 ? -1 : 1) : 1 }));

  return html`<main>
    <h1>Routes</h1>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    <div class="filters" role="group" aria-label="Filter routes">
      ${CHIPS.map(
        (c) =>
          html`<button type="button" class="chip" aria-pressed=${chips.has(c.id) ? 'true' : 'false'} onClick=${() => toggle(c.id)}>${c.label}</button>`,
      )}
      <label for="route-filter" class="visually-hidden">Filter by route name</label>
      <input id="route-filter" type="search" placeholder="Filter by name" value=${text}
        onInput=${(e: InputEvent) => setText((e.currentTarget as HTMLInputElement).value)} />
      <span class="count" aria-live="polite">${rows.length} of ${overview?.routes.length ?? 0} routes</span>
    </div>
    <div class="table-wrap">
      <table class="routes">
        <caption class="visually-hidden">Every route's rollout; C is the candidate (rewrite), L is legacy</caption>
        <thead><tr>
          ${COLUMNS.map((c) => {
            const sorted = sort.id === c.id;
            const aria = sorted ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none';
            return html`<th scope="col" aria-sort=${aria} class=${c.numeric ? 'num' : undefined}>
              <button type="button" class="sort" onClick=${() => sortBy(c.id)}>${c.label}<span class="arrow" aria-hidden="true">${sorted ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''}</span></button>
            </th>`;
          })}
        </tr></thead>
        <tbody>
          ${rows.map((r) => html`<${Row} key=${r.name} r=${r} now=${now} />`)}
        </tbody>
      </table>
    </div>
    ${overview && rows.length === 0 ? html`<p>No route matches.</p>` : null}
  </main>`;
}
