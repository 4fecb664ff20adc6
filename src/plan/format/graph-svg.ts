// The dependency graph of `cutover plan --format html`, as inline SVG: modules
// on a circle in plan order (so the same plan always draws the same picture),
// data stores in a column to the right, pairs as edges labelled with their
// calls a day. Stage is shown by colour AND by the label inside the node, so
// colour is never the only cue (WCAG 1.4.1). No xmlns: inline SVG in HTML
// needs none, and the page then holds no URL at all.
import type { PlanResult, Stage } from '../plan-result.ts';
import { count, score } from './figures.ts';

export const STAGE_COLORS: Record<Stage, string> = {
  L1: '#2e9d4f',
  L2: '#e0a100',
  L3: '#d1372e',
};

const NODE_R = 26;
const RING_PAD = 90;
const STORE_W = 150;
const STORE_H = 36;

/** Escapes text for HTML / SVG content and attribute values (names come from traces). */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

interface Point {
  readonly x: number;
  readonly y: number;
}

const fmt = (n: number): string => String(Math.round(n * 10) / 10);

export function dependencyGraph(result: PlanResult): string {
  const modules = result.modules;
  // Room for the labels grows with the number of modules; one module sits in the middle.
  const radius = modules.length <= 1 ? 0 : Math.max(160, modules.length * 36);
  const centre = { x: radius + RING_PAD + 40, y: radius + RING_PAD + 30 };
  const at = new Map<string, Point>();
  modules.forEach((m, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(modules.length, 1);
    at.set(m.name, {
      x: centre.x + radius * Math.cos(angle),
      y: centre.y + radius * Math.sin(angle),
    });
  });
  const storeX = centre.x * 2 + 40;
  const stores = result.dataStores;
  const storeGap = Math.max(STORE_H + 24, (centre.y * 2 - 60) / Math.max(stores.length, 1));
  const storeAt = new Map<string, Point>();
  for (const [i, s] of stores.entries()) storeAt.set(s.name, { x: storeX, y: 60 + i * storeGap });
  const width = storeX + (stores.length > 0 ? STORE_W + 40 : 0);
  const height = Math.max(centre.y * 2 + 40, 60 + stores.length * storeGap + 40);

  const out: string[] = [
    `<svg viewBox="0 0 ${fmt(width)} ${fmt(height)}" width="${fmt(width)}" height="${fmt(height)}" role="img" aria-labelledby="graph-title">`,
    '<title id="graph-title">Module dependency graph: modules coloured and labelled by stage, edges labelled with calls a day, data stores as cylinders</title>',
  ];
  // Store links first, so they sit under everything else.
  for (const s of stores) {
    const p = storeAt.get(s.name)!;
    for (const m of s.modules) {
      const q = at.get(m);
      if (q)
        out.push(
          `<line class="store-link" x1="${fmt(q.x)}" y1="${fmt(q.y)}" x2="${fmt(p.x)}" y2="${fmt(p.y + STORE_H / 2)}"/>`,
        );
    }
  }
  for (const pair of result.pairs) {
    const a = at.get(pair.a);
    const b = at.get(pair.b);
    if (!a || !b) continue;
    // Pairs coupled only through data or a transaction (no call) are dotted and
    // unlabelled: "0 calls/day" on every such line would bury the calls that matter.
    if (pair.callsPerDay === 0) {
      out.push(
        `<line class="edge-nocall" data-pair="${escapeHtml(pair.a)} ${escapeHtml(pair.b)}" x1="${fmt(a.x)}" y1="${fmt(a.y)}" x2="${fmt(b.x)}" y2="${fmt(b.y)}"/>`,
      );
      continue;
    }
    const mid = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
    out.push(
      `<g class="edge" data-pair="${escapeHtml(pair.a)} ${escapeHtml(pair.b)}">`,
      `<line x1="${fmt(a.x)}" y1="${fmt(a.y)}" x2="${fmt(b.x)}" y2="${fmt(b.y)}" stroke-width="${fmt(1 + 4 * pair.score)}"/>`,
      `<text class="edge-label" x="${fmt(mid.x)}" y="${fmt(mid.y - 4)}">${count(pair.callsPerDay)} calls/day · ${score(pair.score)}</text>`,
      '</g>',
    );
  }
  for (const m of modules) {
    const p = at.get(m.name)!;
    out.push(
      `<g class="node stage-${m.stage}" data-module="${escapeHtml(m.name)}">`,
      `<circle cx="${fmt(p.x)}" cy="${fmt(p.y)}" r="${NODE_R}" fill="${STAGE_COLORS[m.stage]}"/>`,
      `<text class="stage-text" x="${fmt(p.x)}" y="${fmt(p.y + 5)}">${m.stage}</text>`,
      `<text class="node-label" x="${fmt(p.x)}" y="${fmt(p.y + NODE_R + 16)}">${escapeHtml(m.name)}</text>`,
      '</g>',
    );
  }
  for (const s of stores) {
    const p = storeAt.get(s.name)!;
    const x0 = p.x;
    const x1 = p.x + STORE_W;
    const ry = 6;
    // A cylinder, the usual picture of a database, so stores never read as modules.
    out.push(
      `<g class="store" data-store="${escapeHtml(s.name)}">`,
      `<path d="M${fmt(x0)} ${fmt(p.y + ry)} v${STORE_H - 2 * ry} a${STORE_W / 2} ${ry} 0 0 0 ${STORE_W} 0 v-${STORE_H - 2 * ry} a${STORE_W / 2} ${ry} 0 0 0 -${STORE_W} 0 a${STORE_W / 2} ${ry} 0 0 0 ${STORE_W} 0"/>`,
      `<text class="store-label" x="${fmt((x0 + x1) / 2)}" y="${fmt(p.y + STORE_H / 2 + 7)}">${escapeHtml(s.name)}</text>`,
      '</g>',
    );
  }
  out.push('</svg>');
  return out.join('\n');
}
