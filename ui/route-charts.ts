// A route's live charts (uPlot): legacy vs candidate latency percentiles,
// error rates, and the weight with the rollout's moves marked. Filled from
// GET /api/routes/:name/series (the last 15 minutes at 1 s), then one point
// a second from the stream's `point` events; older points fall off.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { get, seg } from './api.ts';
import { html } from './format.ts';
import { on } from './live.ts';
import type { Series, SeriesPoint } from './types.ts';

/** 15 minutes at one point a second: what /series answers and what the charts keep. */
const KEEP_SECONDS = 900;

/** Legacy blue, candidate orange: told apart in both color schemes and by color-blind readers. */
const LEGACY = '#3b82f6';
const CANDIDATE = '#f97316';
/** Grid lines readable on a light and on a dark background alike. */
const GRID = 'rgba(128, 128, 128, 0.3)';

interface Move {
  /** Epoch seconds. */
  readonly t: number;
  readonly label: string;
  readonly rollback: boolean;
}

/** uPlot's aligned data: the times (epoch s) first, then one column per series. */
type Columns = (number | null)[][];

interface ChartSpec {
  readonly id: string;
  readonly title: string;
  readonly unit: string;
  readonly series: readonly { label: string; color: string; dash?: number[]; width?: number }[];
  readonly pick: (p: SeriesPoint) => (number | null)[];
}

const pct = (v: number | null | undefined) => (v === null || v === undefined ? null : v * 100);

const CHARTS: readonly ChartSpec[] = [
  {
    id: 'latency',
    title: 'Latency (ms): p50, p95, p99',
    unit: 'ms',
    series: [
      { label: 'legacy p50', color: LEGACY, width: 1 },
      { label: 'legacy p95', color: LEGACY, dash: [6, 3] },
      { label: 'legacy p99', color: LEGACY, dash: [2, 2] },
      { label: 'candidate p50', color: CANDIDATE, width: 1 },
      { label: 'candidate p95', color: CANDIDATE, dash: [6, 3] },
      { label: 'candidate p99', color: CANDIDATE, dash: [2, 2] },
    ],
    pick: (p) => [
      p.legacy?.p50 ?? null,
      p.legacy?.p95 ?? null,
      p.legacy?.p99 ?? null,
      p.candidate?.p50 ?? null,
      p.candidate?.p95 ?? null,
      p.candidate?.p99 ?? null,
    ],
  },
  {
    id: 'errors',
    title: 'Error rate (%)',
    unit: '%',
    series: [
      { label: 'legacy', color: LEGACY },
      { label: 'candidate', color: CANDIDATE },
    ],
    pick: (p) => [pct(p.legacy?.errorRate), pct(p.candidate?.errorRate)],
  },
  {
    id: 'weight',
    title: 'Weight (% of users on the candidate); rollout moves marked',
    unit: '%',
    series: [{ label: 'weight', color: CANDIDATE }],
    pick: (p) => [p.weight],
  },
];

function emptyColumns(spec: ChartSpec): Columns {
  return [[], ...spec.series.map(() => [])];
}

function push(columns: Columns, spec: ChartSpec, p: SeriesPoint): void {
  const times = columns[0];
  const last = times.at(-1);
  if (typeof last === 'number' && p.t <= last) {
    // A second sent again (the fleet's late figures revised it): the newer point wins.
    const at = times.lastIndexOf(p.t);
    if (at >= 0) {
      spec.pick(p).forEach((v, i) => {
        columns[i + 1][at] = v;
      });
    }
    return;
  }
  times.push(p.t);
  spec.pick(p).forEach((v, i) => {
    columns[i + 1].push(v);
  });
  const cut = columns[0].length - KEEP_SECONDS;
  if (cut > 0) for (const c of columns) c.splice(0, cut);
}

/** Vertical lines at the rollout's moves (red for a rollback), drawn on the canvas. */
function movesPlugin(moves: { current: readonly Move[] }): uPlot.Plugin {
  return {
    hooks: {
      draw: [
        (u: uPlot) => {
          const { ctx, bbox } = u;
          ctx.save();
          for (const m of moves.current) {
            const x = u.valToPos(m.t, 'x', true);
            if (x < bbox.left || x > bbox.left + bbox.width) continue;
            ctx.strokeStyle = m.rollback ? '#dc2626' : '#6b7280';
            ctx.lineWidth = 2;
            ctx.setLineDash([4, 4]);
            ctx.beginPath();
            ctx.moveTo(x, bbox.top);
            ctx.lineTo(x, bbox.top + bbox.height);
            ctx.stroke();
          }
          ctx.restore();
        },
      ],
    },
  };
}

function Chart(props: {
  spec: ChartSpec;
  columns: Columns;
  version: number;
  moves?: readonly Move[];
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const moves = useRef<readonly Move[]>([]);
  moves.current = props.moves ?? [];
  const { spec } = props;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = () => Math.max(280, el.clientWidth);
    const opts: uPlot.Options = {
      width: width(),
      height: 220,
      series: [
        {},
        ...spec.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: s.width ?? 2,
          dash: s.dash,
          spanGaps: false,
          value: (_u: uPlot, v: number | null) =>
            v === null ? '–' : `${v.toFixed(2)} ${spec.unit}`,
        })),
      ],
      // A canvas knows no currentColor: the page's text color, read once, follows the color scheme.
      axes: [
        { stroke: getComputedStyle(el).color, grid: { stroke: GRID }, ticks: { stroke: GRID } },
        {
          stroke: getComputedStyle(el).color,
          grid: { stroke: GRID },
          ticks: { stroke: GRID },
          size: 56,
        },
      ],
      scales: spec.id === 'weight' ? { y: { range: [0, 100] } } : {},
      plugins: props.moves ? [movesPlugin(moves)] : [],
    };
    const u = new uPlot(opts, props.columns as uPlot.AlignedData, el);
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: width(), height: 220 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = undefined;
    };
  }, [spec]);

  useEffect(() => {
    plot.current?.setData(props.columns as uPlot.AlignedData);
  }, [props.version, props.moves]);

  return html`<figure class="chart" data-chart=${spec.id} data-points=${props.columns[0].length}>
    <figcaption>${spec.title}</figcaption>
    <div ref=${box} class="plot" role="img" aria-label=${`${spec.title}: ${props.columns[0].length} points`}></div>
  </figure>`;
}

export function RouteCharts(props: { name: string; moves: readonly Move[] }) {
  const data = useRef<Columns[]>(CHARTS.map(emptyColumns));
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<string | undefined>(undefined);
  /** Instances behind the newest point: the charts show the fleet's figures when more than one. */
  const [instances, setInstances] = useState(1);

  useEffect(() => {
    let loaded = false;
    let newest = 0;
    const early: SeriesPoint[] = [];
    const add = (p: SeriesPoint) => {
      CHARTS.forEach((spec, i) => {
        push(data.current[i], spec, p);
      });
      if (p.t >= newest) {
        newest = p.t;
        setInstances(p.instances ?? 1);
      }
    };
    get<Series>(`/api/routes/${seg(props.name)}/series?seconds=${KEEP_SECONDS}`)
      .then((s) => {
        for (const p of s.points) add(p);
        for (const p of early) add(p);
        loaded = true;
        setVersion((v) => v + 1);
      })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
    return on('point', (e) => {
      if (e.route !== props.name) return;
      if (!loaded) early.push(e.point);
      else {
        add(e.point);
        setVersion((v) => v + 1);
      }
    });
  }, [props.name]);

  return html`<section aria-labelledby="charts-title">
    <h2 id="charts-title">Live, last 15 minutes</h2>
    <p class="legend" data-instances=${instances}><span class="key-legacy">legacy</span> <span class="key-candidate">candidate</span> — solid p50, dashed p95, dotted p99${instances > 1 ? ` — every instance of the fleet (${instances})` : ''}</p>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    <div class="charts">
      ${CHARTS.map(
        (spec, i) =>
          html`<${Chart} key=${spec.id} spec=${spec} columns=${data.current[i]} version=${version}
            moves=${spec.id === 'weight' ? props.moves : undefined} />`,
      )}
    </div>
  </section>`;
}

export type { Move };
