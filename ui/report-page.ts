// The migration report (GET /api/report, the same figures as `cutover
// report`): a span and a route to pick, the summary, a table of the key
// figures, and the full self-contained report opened in a new tab.
import { useEffect, useState } from 'preact/hooks';
import { get } from './api.ts';
import { html, ms, percent } from './format.ts';
import { useOverview } from './overview.ts';
import type { Figure, ReportJson, ReportRoute } from './types.ts';

/** The spans offered: a day, a week, the default retention (30 days). */
export const SPANS = ['24h', '7d', '30d'] as const;
export type Span = (typeof SPANS)[number];

/** The report's query: `#/report?route=orders&since=7d` keeps the choice in the address. */
export function reportQuery(span: Span, route: string | undefined, format: string): string {
  const q = new URLSearchParams({ since: span, format });
  if (route) q.set('route', route);
  return `/api/report?${q}`;
}

const value = (f: Figure, show: (n: number) => string): string =>
  f.value === null ? `n/a (${f.na})` : show(f.value);

const VERDICT_LABEL = {
  pass: 'no difference',
  lower: 'candidate lower',
  higher: 'candidate higher',
  nodata: 'no data',
} as const;

function Row(props: { r: ReportRoute; head?: boolean }) {
  const { r } = props;
  const w = r.sameWindows;
  return html`<tr class=${props.head ? 'overall' : undefined}>
    <th scope="row">${r.route}</th>
    <td class="num">${r.requests.legacy.toLocaleString()}</td>
    <td class="num">${r.requests.candidate.toLocaleString()}</td>
    <td class="num">${value(w.legacy.p99, ms)}</td>
    <td class="num">${value(w.candidate.p99, ms)}</td>
    <td class="num">${value(w.legacy.errorRate, (n) => percent(n))}</td>
    <td class="num">${value(w.candidate.errorRate, (n) => percent(n))}</td>
    <td><span class=${`verdict verdict-${r.verdicts.latency.verdict}`} title=${r.verdicts.latency.reason}>${VERDICT_LABEL[r.verdicts.latency.verdict]}</span></td>
    <td><span class=${`verdict verdict-${r.verdicts.errorRate.verdict}`} title=${r.verdicts.errorRate.reason}>${VERDICT_LABEL[r.verdicts.errorRate.verdict]}</span></td>
  </tr>`;
}

export function ReportPage(props: { route: string | undefined }) {
  const { overview } = useOverview();
  const [span, setSpan] = useState<Span>('7d');
  const [route, setRoute] = useState<string | undefined>(props.route);
  const [report, setReport] = useState<ReportJson | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    let stale = false;
    setReport(undefined);
    get<ReportJson>(reportQuery(span, route, 'json'))
      .then((r) => {
        if (stale) return;
        setReport(r);
        setError(undefined);
      })
      .catch((e: unknown) => !stale && setError(e instanceof Error ? e.message : String(e)));
    return () => {
      stale = true;
    };
  }, [span, route]);
  const names = [
    ...new Set([...(overview?.routes ?? []).map((r) => r.name), ...(route ? [route] : [])]),
  ].sort();
  return html`<main>
    <h1>Migration report</h1>
    <form class="filters" aria-label="Report span and route" onSubmit=${(e: Event) => e.preventDefault()}>
      <fieldset class="spans"><legend>Span</legend>
        ${SPANS.map(
          (s) =>
            html`<button type="button" class="chip" aria-pressed=${s === span} onClick=${() => setSpan(s)}>${s}</button>`,
        )}
      </fieldset>
      <label>Route${' '}
        <select value=${route ?? ''} onChange=${(e: Event) => setRoute((e.target as HTMLSelectElement).value || undefined)}>
          <option value="">All routes</option>
          ${names.map((n) => html`<option value=${n}>${n}</option>`)}
        </select>
      </label>
      <a class="open-report" href=${reportQuery(span, route, 'html')} target="_blank" rel="noopener">Open the full report</a>
    </form>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    ${
      report
        ? html`<p class="summary">${report.summary}</p>
      <p class="hint">From ${new Date(report.from).toLocaleString()} to ${new Date(report.until).toLocaleString()}; p99 and error rates over the minutes both sides served.</p>
      <div class="table-wrap"><table class="report-figures">
        <caption class="visually-hidden">Key figures, legacy against candidate</caption>
        <thead><tr><th scope="col">Route</th><th scope="col">Requests legacy</th><th scope="col">Requests candidate</th>
          <th scope="col">p99 legacy</th><th scope="col">p99 candidate</th><th scope="col">Errors legacy</th><th scope="col">Errors candidate</th>
          <th scope="col">Latency</th><th scope="col">Error rate</th></tr></thead>
        <tbody>
          ${route ? null : html`<${Row} r=${report.overall} head=${true} />`}
          ${report.routes.map((r) => html`<${Row} key=${r.route} r=${r} />`)}
        </tbody>
      </table></div>`
        : error
          ? null
          : html`<p>Loading…</p>`
    }
  </main>`;
}
