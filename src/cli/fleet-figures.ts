// The fleet's figures for the rollout gates (issue 11, "gates see the whole
// fleet"). Every instance publishes, a little after each second ends, that
// second of every route a rollout reads (telemetry's payload: class counts
// and the latency histogram per side, running candidate and shadow counts);
// the leader reads every instance's seconds before its checks and merges
// them (histograms add), reading its own seconds live. An instance that went
// silent for three heartbeats is forgotten: its seconds leave every figure.
// The dashboard's series ride in the same payload (fleet-series.ts publishes
// through this exchange, once a second, after its sample).
import type { Config } from '../config/index.ts';
import type { Gateway } from '../gateway/index.ts';
import type { RouteFigures } from '../rollout/index.ts';
import type { FleetMember, FleetStore } from '../state/index.ts';
import {
  buildFiguresPayload,
  FleetFigures,
  type PayloadExtras,
  statsNow,
} from '../telemetry/index.ts';

/** Seconds of figures a gate may read: the longest rollout window, plus the current and a spare one. */
function retainOf(config: Config): number {
  let longest = 1000;
  for (const r of config.routes) if (r.rollout) longest = Math.max(longest, r.rollout.window);
  return Math.ceil(longest / 1000) + 2;
}

export class FleetFiguresExchange {
  readonly #store: FleetStore;
  readonly #member: FleetMember;
  readonly #gateway: Gateway;
  #merged: FleetFigures | undefined = undefined;
  #retain = 0;
  /** The newest second read from the store by the leader. */
  #readUpTo = 0;
  /** Instances whose seconds are in the merged figures. */
  readonly #seen = new Set<string>();
  #publishing = false;
  /** Payloads from other instances that could not be read (a version skew, corruption). */
  rejected = 0;

  constructor(store: FleetStore, member: FleetMember, gateway: Gateway) {
    this.#store = store;
    this.#member = member;
    this.#gateway = gateway;
  }

  /**
   * This instance's whole `second` (just over, its last requests recorded),
   * to the store: the routes a rollout reads, and `extras` (nothing at all
   * when neither has anything). True when a payload was stored.
   */
  async publish(second: number, extras: PayloadExtras = {}): Promise<boolean> {
    if (this.#publishing || !this.#member.health.up) return false;
    this.#publishing = true;
    try {
      const payload = buildFiguresPayload(this.#gateway.figureSources(), second, extras);
      if (payload === undefined) return false;
      await this.#store.publishFigures(
        { instance: this.#member.id, second, payload },
        retainOf(this.#gateway.config),
      );
      return true;
    } catch (error) {
      this.#member.report(error as Error);
      return false;
    } finally {
      this.#publishing = false;
    }
  }

  /**
   * Before the leader's checks: takes in the seconds published since the
   * last read and forgets instances gone silent. Only the leader merges;
   * elsewhere (and while the store is away) the gates read this instance alone.
   */
  async refresh(): Promise<void> {
    if (!this.#member.leader || !this.#member.health.up) {
      this.#merged = undefined;
      return;
    }
    const retain = retainOf(this.#gateway.config);
    if (!this.#merged || retain > this.#retain) {
      this.#merged = new FleetFigures({
        localInstance: this.#member.id,
        retainSeconds: retain,
        clock: statsNow,
      });
      this.#retain = retain;
      this.#readUpTo = 0;
      this.#seen.clear();
    }
    const now = Math.floor(statsNow() / 1000);
    // Seconds already read may still gain a late instance's payload: read the last two again.
    const from = Math.max(now - retain, this.#readUpTo - 2);
    try {
      const [slots, alive] = await Promise.all([
        this.#store.readFigures(from, now),
        this.#store.instances(),
      ]);
      this.rejected += this.#merged.ingest(slots).rejected;
      this.#readUpTo = now;
      const live = new Set(alive.map((i) => i.id));
      for (const s of slots) this.#seen.add(s.instance);
      for (const id of this.#seen) {
        if (live.has(id)) continue;
        this.#merged.forget(id);
        this.#seen.delete(id);
      }
    } catch (error) {
      this.#member.report(error as Error);
      this.#merged = undefined;
    }
  }

  /** The route's figures over the fleet when this instance leads, else undefined (read the gateway's own). */
  figures(route: string, windowMs: number): RouteFigures | undefined {
    const own = this.#gateway.routeFigures(route, windowMs);
    if (!own || !this.#merged) return own;
    const local = this.#gateway.figureSource(route);
    return local ? this.#merged.route(route, local) : own;
  }

  /** The route's rollout is over: its merged figures go. */
  dropRoute(route: string): void {
    this.#merged?.dropRoute(route);
  }
}
