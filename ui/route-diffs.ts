// A route's shadow comparison (GET /api/routes/:name/diffs): the summary,
// the fields that differ (raw vs judged noise, and the ignore line to pin a
// noisy one), samples with their unified diff, and paired latency.
import { html, ms, percent } from './format.ts';
import type { RouteDiffs } from './types.ts';

function DiffText(props: { diff: string }) {
  return html`<pre class="diff">${props.diff.split('\n').map((line) => {
    const cls = line.startsWith('+')
      ? 'add'
      : line.startsWith('-')
        ? 'del'
        : line.startsWith('@@')
          ? 'hunk'
          : undefined;
    return html`<span class=${cls}>${line}\n</span>`;
  })}</pre>`;
}

export function Diffs(props: { diffs: RouteDiffs | undefined }) {
  const d = props.diffs;
  if (!d || (d.summary.compared === 0 && d.samples.length === 0)) {
    return html`<section><h2>Shadow diffs</h2><p>No shadow pairs compared on this route yet.</p></section>`;
  }
  const s = d.summary;
  const pinned = d.noise?.pin?.compare?.ignore ?? [];
  const lat = d.latency;
  return html`<section aria-labelledby="diffs-title">
    <h2 id="diffs-title">Shadow diffs</h2>
    <p><strong>${s.mismatched}</strong> of <strong>${s.compared}</strong> compared pairs differ (${percent(s.mismatchRatio)}); ${s.matched} match${s.settled ? '' : '; noise is still being learned'}.</p>
    ${
      d.fields.length > 0
        ? html`<div class="table-wrap"><table>
      <caption>Fields that differ</caption>
      <thead><tr><th scope="col">Field</th><th scope="col" class="num">Differ (raw)</th><th scope="col" class="num">Judged noise</th><th scope="col">Kinds</th><th scope="col">Last legacy → candidate</th><th scope="col">To ignore it, pin</th></tr></thead>
      <tbody>${d.fields.map(
        (f) => html`<tr>
          <th scope="row"><code>${f.pattern}</code></th>
          <td class="num">${f.raw}</td>
          <td class="num">${f.noise}</td>
          <td>${Object.entries(f.kinds)
            .map(([k, n]) => `${k} ×${n}`)
            .join(', ')}</td>
          <td><code>${JSON.stringify(f.lastLegacy)}</code> → <code>${JSON.stringify(f.lastCandidate)}</code></td>
          <td><code>shadow: { compare: { ignore: [${JSON.stringify(f.pattern)}] } }</code></td>
        </tr>`,
      )}</tbody>
    </table></div>`
        : null
    }
    ${pinned.length > 0 ? html`<p>Learned noise, to pin in the file: <code>ignore: ${JSON.stringify(pinned)}</code></p>` : null}
    ${
      lat
        ? html`<table class="latency">
      <caption>Paired latency over ${lat.pairs} pairs (the same requests on both sides)</caption>
      <thead><tr><th scope="col"></th><th scope="col" class="num">p50</th><th scope="col" class="num">p95</th><th scope="col" class="num">p99</th></tr></thead>
      <tbody>
        <tr><th scope="row">legacy</th><td class="num">${ms(lat.legacy.p50)}</td><td class="num">${ms(lat.legacy.p95)}</td><td class="num">${ms(lat.legacy.p99)}</td></tr>
        <tr><th scope="row">candidate</th><td class="num">${ms(lat.candidate.p50)}</td><td class="num">${ms(lat.candidate.p95)}</td><td class="num">${ms(lat.candidate.p99)}</td></tr>
        <tr><th scope="row">candidate ÷ legacy</th><td class="num">${lat.ratio.p50?.toFixed(2) ?? '–'}</td><td class="num">${lat.ratio.p95?.toFixed(2) ?? '–'}</td><td class="num">${lat.ratio.p99?.toFixed(2) ?? '–'}</td></tr>
      </tbody>
    </table>`
        : null
    }
    <h3>Samples</h3>
    ${d.samples.slice(0, 10).map(
      (x) => html`<details class="sample">
        <summary><code>${x.method} ${x.url}</code> — legacy ${x.legacyStatus} in ${ms(x.legacyMs)}, candidate ${x.candidateStatus} in ${ms(x.candidateMs)}; ${x.differences.length} difference${x.differences.length === 1 ? '' : 's'}</summary>
        <${DiffText} diff=${x.diff} />
      </details>`,
    )}
  </section>`;
}
