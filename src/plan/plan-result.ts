// What `cutover plan` computes, in the shape its JSON output takes
// (docs/plan.md, "JSON output"). The formats (table, md, json, html) and
// `--emit-config` read only this; the aggregator (build-plan.ts) writes it.

export type Stage = 'L1' | 'L2' | 'L3';

/** Which level of shared data the traces (or modules.yaml) could show for a pair. */
export type SharedDataLevel = 'columns' | 'tables' | 'stores' | 'none';

/** One pair of modules and the three figures behind its coupling score. */
export interface PlanPair {
  /** The two modules, in name order (`a` < `b`). */
  readonly a: string;
  readonly b: string;
  /** Calls between the two over all calls of the busier of the two modules (0..1). */
  readonly callRatio: number;
  /** Calls between the two, both directions, per day of traces. */
  readonly callsPerDay: number;
  /** Shared columns (or tables / stores, see `sharedLevel`) counted for the score. */
  readonly sharedColumns: number;
  readonly sharedLevel: SharedDataLevel;
  /** What they share, for the explanation: `orders_db.orders.status`, `orders_db.orders`, `redis:sessions`. */
  readonly shared: readonly string[];
  /** The most module boundaries crossed inside one transaction that involves both. */
  readonly txHops: number;
  /** Share of the two modules' transactions that were two-phase (0..1); undefined when none seen. */
  readonly twoPhaseShare: number | undefined;
  /** 0.40·callRatio + 0.35·min(sharedColumns/20, 1) + 0.25·min(txHops/5, 1). */
  readonly score: number;
}

/** A module's pair as its row shows it: the other module and the figures. */
export interface ModulePair {
  readonly with: string;
  readonly callRatio: number;
  readonly sharedColumns: number;
  readonly txHops: number;
  readonly score: number;
}

/** A module's cost as a model: the inputs and the split by the published weights. */
export interface ModuleCost {
  /** Total person-days: baseDays × skillFactor (docs/plan.md, "Cost model"). */
  readonly days: number;
  /** Calendar days for the team: days ÷ teamSize (optional: added after the shape was fixed). */
  readonly calendarDays?: number;
  readonly people: number;
  readonly compatibility: number;
  readonly observability: number;
  readonly inputs: {
    readonly baseDays: number;
    readonly skillFactor: number;
    readonly teamSize: number;
  };
}

/** An HTTP route or RPC method a module serves, from its server spans (for --emit-config). */
export interface EntryPoint {
  /** `GET /api/orders/{id}` (http.method + http.route) or `grpc orders.v1.Orders/Get`. */
  readonly name: string;
  readonly kind: 'http' | 'grpc';
  /** HTTP: the route template; gRPC: `package.Service`. */
  readonly path: string;
  /** HTTP method, or the gRPC method name. */
  readonly method: string;
  readonly calls: number;
}

export interface PlanModule {
  readonly name: string;
  readonly stage: Stage;
  /** The highest pair score (0 when the module has no pair). */
  readonly score: number;
  /** Server (and consumer) spans of the module: calls it served, over the traces' span. */
  readonly traffic: number;
  /** Undefined when no cost inputs were given. */
  readonly cost: ModuleCost | undefined;
  /** The pair that set the score; undefined when the module talks to no other module. */
  readonly pair: ModulePair | undefined;
  /** The services (and service + operation selectors) the module is made of. */
  readonly services: readonly string[];
  readonly entryPoints: readonly EntryPoint[];
}

export interface DataStore {
  /** `postgresql:orders_db`, `redis`, `kafka:events` … */
  readonly name: string;
  /** How it was recognised: `modules.yaml`, `db.system`, `messaging.system`, `remote endpoint`. */
  readonly source: string;
  /** Modules that touch it, in name order. */
  readonly modules: readonly string[];
  readonly tables: readonly string[];
  /** The kind modules.yaml gives it (`database`, `cache`, `queue` …), when it gives one. */
  readonly kind?: string;
}

export interface PlanWarning {
  /** `high-coupling` (≥ 50,000 cross-module calls a day), `two-phase` (2PC in > 15% of transactions), `spans-skipped`, `links-unresolved`, `unknown-module`. */
  readonly kind: string;
  readonly message: string;
  /** The modules it is about, when it is about some. */
  readonly modules: readonly string[];
}

export interface PlanResult {
  /** L1 first, then L2, then L3; within a stage by score, then traffic (low first). */
  readonly modules: readonly PlanModule[];
  /** Every pair with at least one call, shared item or transaction hop, highest score first. */
  readonly pairs: readonly PlanPair[];
  readonly dataStores: readonly DataStore[];
  readonly warnings: readonly PlanWarning[];
  readonly traces: {
    readonly spans: number;
    readonly traces: number;
    /** Days the traces span (at least 1/1440: one minute), the divisor of per-day figures. */
    readonly days: number;
    /** ISO 8601. */
    readonly from: string | undefined;
    readonly until: string | undefined;
  };
}
