// Small inline-SVG charts for the HTML report: a time (or week) axis, a
// value axis with round ticks, lines, steps or bars, a legend and vertical
// markers (rollbacks). Text is escaped here: series names come from users.

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export interface ChartSeries {
  readonly name: string;
  readonly color: string;
  /** x, y; a null y breaks the line (no data there). */
  readonly points: readonly (readonly [number, number | null])[];
  readonly style: 'line' | 'step' | 'bars';
  readonly dashed?: boolean;
}

export interface ChartOptions {
  readonly title: string;
  readonly yLabel: string;
  /** x values are epoch ms (ticks as dates/times), else plain numbers. */
  readonly xTime: boolean;
  readonly series: readonly ChartSeries[];
  readonly markers?: readonly { readonly x: number; readonly label: string }[];
  readonly yFormat?: (v: number) => string;
  readonly xFormat?: (v: number) => string;
}

const WIDTH = 720;
const HEIGHT = 260;
const PAD = { left: 64, right: 16, top: 28, bottom: 56 };

/** About `count` round tick values covering low..high (1, 2, 5 × 10ⁿ steps). */
export function niceTicks(low: number, high: number, count = 5): number[] {
  if (!(high > low)) return [low];
  const raw = (high - low) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let v = Math.ceil(low / step) * step; v <= high + step * 1e-9; v += step) {
    ticks.push(Number(v.toPrecision(12)));
  }
  return ticks;
}

const TIME_STEPS = [60_000, 300_000, 900_000, 3_600_000, 6 * 3_600_000, 86_400_000, 7 * 86_400_000];

function timeTicks(low: number, high: number): number[] {
  const step = TIME_STEPS.find((s) => (high - low) / s <= 6) ?? 28 * 86_400_000;
  const ticks: number[] = [];
  for (let v = Math.ceil(low / step) * step; v <= high; v += step) ticks.push(v);
  return ticks;
}

function timeLabel(v: number, spanMs: number): string {
  const iso = new Date(v).toISOString();
  return spanMs > 2 * 86_400_000 ? iso.slice(5, 10) : iso.slice(11, 16);
}

const f = (n: number): string => n.toFixed(1);

export function svgChart(options: ChartOptions): string {
  const xs = options.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = options.series.flatMap((s) => s.points.flatMap((p) => (p[1] === null ? [] : [p[1]])));
  const title = escapeHtml(options.title);
  if (xs.length === 0 || ys.length === 0) {
    return `<figure><figcaption>${title}</figcaption><p class="na">n/a — no data in the span</p></figure>`;
  }
  const bars = options.series.some((s) => s.style === 'bars');
  let xLow = Math.min(...xs);
  let xHigh = Math.max(...xs);
  if (bars) {
    xLow -= 0.5;
    xHigh += 0.5;
  }
  if (xHigh === xLow) xHigh = xLow + 1;
  const yHigh = Math.max(...ys, 0) || 1;
  const yTicks = niceTicks(0, yHigh);
  const yTop = Math.max(yHigh, yTicks[yTicks.length - 1]);
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (v: number) => PAD.left + ((v - xLow) / (xHigh - xLow)) * plotW;
  const y = (v: number) => PAD.top + plotH - (v / yTop) * plotH;
  const yFormat = options.yFormat ?? ((v: number) => String(v));
  const xFormat =
    options.xFormat ??
    (options.xTime ? (v: number) => timeLabel(v, xHigh - xLow) : (v: number) => String(v));
  const xTicks = options.xTime
    ? timeTicks(xLow, xHigh)
    : niceTicks(xLow, xHigh, 6).filter((v) => Number.isInteger(v));
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${title}">`,
    `<text x="${PAD.left}" y="16" class="t">${title}</text>`,
  );
  for (const t of yTicks) {
    parts.push(
      `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${f(y(t))}" y2="${f(y(t))}" class="g"/>`,
      `<text x="${PAD.left - 6}" y="${f(y(t) + 4)}" text-anchor="end">${escapeHtml(yFormat(t))}</text>`,
    );
  }
  for (const t of xTicks) {
    parts.push(
      `<line x1="${f(x(t))}" x2="${f(x(t))}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH + 5}" class="a"/>`,
      `<text x="${f(x(t))}" y="${PAD.top + plotH + 18}" text-anchor="middle">${escapeHtml(xFormat(t))}</text>`,
    );
  }
  parts.push(
    `<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${PAD.top + plotH}" class="a"/>`,
    `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH}" class="a"/>`,
    `<text transform="translate(14 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(options.yLabel)}</text>`,
  );
  const barSeries = options.series.filter((s) => s.style === 'bars');
  const barWidth = barSeries.length > 0 ? (plotW / (xHigh - xLow)) * (0.8 / barSeries.length) : 0;
  for (const s of options.series) {
    if (s.style === 'bars') {
      const offset = barSeries.indexOf(s) * barWidth - (barWidth * barSeries.length) / 2;
      for (const [px, py] of s.points) {
        if (py === null) continue;
        parts.push(
          `<rect x="${f(x(px) + offset)}" y="${f(y(py))}" width="${f(barWidth)}" height="${f(y(0) - y(py))}" fill="${s.color}"/>`,
        );
      }
      continue;
    }
    let d = '';
    let open = false;
    let last: number | null = null;
    for (const [px, py] of s.points) {
      if (py === null) {
        open = false;
        continue;
      }
      if (!open) d += `M${f(x(px))},${f(y(py))}`;
      else if (s.style === 'step' && last !== null) d += `H${f(x(px))}V${f(y(py))}`;
      else d += `L${f(x(px))},${f(y(py))}`;
      open = true;
      last = py;
    }
    if (s.style === 'step' && last !== null) d += `H${f(x(xHigh))}`;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
  }
  for (const m of options.markers ?? []) {
    const mx = f(x(m.x));
    parts.push(
      `<line x1="${mx}" x2="${mx}" y1="${PAD.top}" y2="${PAD.top + plotH}" class="m"/>`,
      `<text x="${mx}" y="${PAD.top - 2}" text-anchor="middle" class="ml">${escapeHtml(m.label)}</text>`,
    );
  }
  let lx = PAD.left;
  const ly = HEIGHT - 14;
  for (const s of options.series) {
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(
      `<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="${s.style === 'bars' ? 8 : 2}"${dash}/>`,
      `<text x="${lx + 22}" y="${ly}">${escapeHtml(s.name)}</text>`,
    );
    lx += 34 + s.name.length * 7;
  }
  parts.push('</svg>');
  return `<figure>${parts.join('')}</figure>`;
}
