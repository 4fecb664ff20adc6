// Turns PlanBuilder's tallies into the result's pairs, modules and data
// stores: the figures of every pair (docs/plan.md, "How the figures are
// computed"), each module's best pair and stage, in migration order.
import type { CostInputs, ModulesFile } from '../modules/schema.ts';
import type {
  DataStore,
  EntryPoint,
  PlanModule,
  PlanPair,
  SharedDataLevel,
} from '../plan-result.ts';
import { byMigrationOrder, couplingScore, moduleCost, stageOf } from './figures.ts';

export interface ModuleTally {
  readonly name: string;
  readonly services: Set<string>;
  /** Server and consumer spans. */
  traffic: number;
  /** Cross-module calls it made. */
  out: number;
  readonly entries: Map<string, { -readonly [K in keyof EntryPoint]: EntryPoint[K] }>;
  readonly stores: Set<number>;
  readonly tables: Set<string>;
  readonly columns: Set<string>;
}

export interface StoreTally {
  readonly name: string;
  readonly source: string;
  readonly kind: string | undefined;
  readonly modules: Set<number>;
  readonly tables: Set<string>;
}

export interface PairTally {
  calls: number;
  transactions: number;
  twoPhase: number;
  hops: number;
}

const PAIR_KEY = 2 ** 20;

/** One number per unordered pair of module ids (fewer than 2^20 modules). */
export function pairKey(x: number, y: number): number {
  return Math.min(x, y) * PAIR_KEY + Math.max(x, y);
}

/** Code-unit order: the same on every machine, unlike localeCompare. */
export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sorted(values: Iterable<string>): string[] {
  return [...values].sort(byName);
}

function intersect(a: ReadonlySet<string>, b: ReadonlySet<string>): string[] {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  return [...small].filter((x) => large.has(x));
}

/** Modules declared in modules.yaml but met in no span are left out of the result. */
export function isPresent(m: ModuleTally): boolean {
  return m.services.size > 0;
}

function sharedData(
  ma: ModuleTally,
  mb: ModuleTally,
  stores: readonly StoreTally[],
  file: ModulesFile | undefined,
): { level: SharedDataLevel; items: string[] } {
  const columns = new Set(intersect(ma.columns, mb.columns));
  for (const s of file?.shared ?? []) {
    if (s.modules.includes(ma.name) && s.modules.includes(mb.name)) {
      for (const c of s.columns) columns.add(c);
    }
  }
  if (columns.size > 0) return { level: 'columns', items: sorted(columns) };
  const tables = intersect(ma.tables, mb.tables);
  if (tables.length > 0) return { level: 'tables', items: sorted(tables) };
  const both = [...ma.stores].filter((s) => mb.stores.has(s)).map((s) => stores[s].name);
  if (both.length > 0) return { level: 'stores', items: sorted(both) };
  return { level: 'none', items: [] };
}

function declaredTwoPhase(file: ModulesFile | undefined, a: string, b: string): number | undefined {
  const entry = file?.twoPhase.find(
    (t) => (t.modules[0] === a && t.modules[1] === b) || (t.modules[0] === b && t.modules[1] === a),
  );
  return entry?.share;
}

/** Every pair with a call, a shared item, a transaction or a declared 2PC share; highest score first. */
export function assemblePairs(
  modules: readonly ModuleTally[],
  stores: readonly StoreTally[],
  tallies: ReadonlyMap<number, PairTally>,
  file: ModulesFile | undefined,
  days: number,
): PlanPair[] {
  const present = modules.map((_, i) => i).filter((i) => isPresent(modules[i]));
  const callsOf = (m: ModuleTally): number => m.out + m.traffic;
  const out: PlanPair[] = [];
  for (let x = 0; x < present.length; x++) {
    for (let y = x + 1; y < present.length; y++) {
      const [ma, mb] = [modules[present[x]], modules[present[y]]];
      const tally = tallies.get(pairKey(present[x], present[y]));
      const shared = sharedData(ma, mb, stores, file);
      const declared = declaredTwoPhase(file, ma.name, mb.name);
      if (!tally && shared.level === 'none' && declared === undefined) continue;
      const calls = tally?.calls ?? 0;
      const busier = Math.max(callsOf(ma), callsOf(mb));
      const callRatio = busier > 0 ? Math.min(calls / busier, 1) : 0;
      const txHops = tally?.hops ?? 0;
      const seen =
        tally && tally.transactions > 0 ? tally.twoPhase / tally.transactions : undefined;
      const [a, b] = ma.name < mb.name ? [ma.name, mb.name] : [mb.name, ma.name];
      out.push({
        a,
        b,
        callRatio,
        callsPerDay: calls / days,
        sharedColumns: shared.items.length,
        sharedLevel: shared.level,
        shared: shared.items,
        txHops,
        twoPhaseShare: declared ?? seen,
        score: couplingScore(callRatio, shared.items.length, txHops),
      });
    }
  }
  return out.sort((p, q) => q.score - p.score || byName(p.a, q.a) || byName(p.b, q.b));
}

/** Each present module with its best pair (the first in `pairs`, sorted by score), stage and cost. */
export function assembleModules(
  modules: readonly ModuleTally[],
  pairs: readonly PlanPair[],
  cost: CostInputs | undefined,
): PlanModule[] {
  const best = new Map<string, PlanPair>();
  for (const p of pairs) {
    if (!best.has(p.a)) best.set(p.a, p);
    if (!best.has(p.b)) best.set(p.b, p);
  }
  const out: PlanModule[] = [];
  for (const m of modules) {
    if (!isPresent(m)) continue;
    const top = best.get(m.name);
    const score = top?.score ?? 0;
    out.push({
      name: m.name,
      stage: stageOf(score),
      score,
      traffic: m.traffic,
      cost: cost && moduleCost(m.name, cost),
      pair: top && {
        with: top.a === m.name ? top.b : top.a,
        callRatio: top.callRatio,
        sharedColumns: top.sharedColumns,
        txHops: top.txHops,
        score: top.score,
      },
      services: sorted(m.services),
      entryPoints: [...m.entries.values()].sort(
        (x, y) => y.calls - x.calls || byName(x.name, y.name),
      ),
    });
  }
  return out.sort(byMigrationOrder);
}

export function assembleDataStores(
  stores: readonly StoreTally[],
  modules: readonly ModuleTally[],
): DataStore[] {
  return stores
    .map((s) => ({
      name: s.name,
      source: s.source,
      modules: sorted([...s.modules].map((m) => modules[m].name)),
      tables: sorted(s.tables),
      ...(s.kind !== undefined ? { kind: s.kind } : {}),
    }))
    .sort((x, y) => byName(x.name, y.name));
}
