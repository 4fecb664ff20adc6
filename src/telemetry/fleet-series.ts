// The dashboard's figures over the whole fleet (issue 14): every instance
// publishes, each second, its routes' requests, errors and latency buckets
// (fleet-payload.ts `q`), and every instance — not only the leader — merges
// what all published into the points its charts and all-routes table show.
//
// A second's latency comes from the windows' HDR slots when every instance
// that served the side that second has one (a rollout reads the route: the
// very figures the gates see), else from the summed Prometheus buckets,
// interpolated as histogram_quantile does. Payloads are taken once per
// (instance, second); a payload that comes late revises its second, which is
// answered again (`revised`) so the charts replace the point.
import { BUCKETS, bucketQuantile } from './bucket-quantile.ts';
import type { PublishedFigures } from './fleet-figures.ts';
import {
  type BreakerEventPayload,
  type ParsedFleetPayload,
  parseFleetPayload,
  type SeriesSide,
} from './fleet-payload.ts';
import { SlotMerge, type WindowSlot } from './window-merge.ts';

/** A side's second over the fleet: counts, and milliseconds (0 when no request). */
export interface MergedSide {
  readonly requests: number;
  readonly errors: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

/** One second of every route over the fleet. */
export interface MergedSecond {
  /** Epoch seconds. */
  readonly second: number;
  /** Instances whose payload of the second is in the figures. */
  readonly instances: number;
  /** Routes with requests on some instance; a route not listed had none. */
  readonly routes: ReadonlyMap<string, { legacy?: MergedSide; candidate?: MergedSide }>;
}

/** What another instance published that its dashboards showed and ours should too. */
export type RemoteEvent =
  | { readonly kind: 'breaker'; readonly instance: string; readonly event: BreakerEventPayload }
  | {
      readonly kind: 'note';
      readonly instance: string;
      readonly entry: Readonly<Record<string, unknown>>;
    };

export interface FleetSeriesOptions {
  /** This instance's id: its own events are not remote. */
  localInstance: string;
  /** Seconds before the newest one whose late payloads still revise their point. */
  reviseSeconds?: number;
  /** An instance's shadow counts are dropped after this many seconds without a payload (it left). */
  silentSeconds?: number;
}

/** The side of a route's payload, with its HDR slot when the instance kept a window. */
interface SideInput {
  readonly summary: SeriesSide;
  readonly slot: WindowSlot | undefined;
}

/** The per-second sums of one side, reused across seconds. */
class SideSum {
  requests = 0;
  errors = 0;
  readonly buckets = new Float64Array(BUCKETS);
  /** Slots of the instances that served the side; null once one served it without a slot. */
  slots: WindowSlot[] | null = [];
  /** Some instance said the side's second (with or without requests). */
  served = false;

  add(input: SideInput): void {
    this.served = true;
    const s = input.summary;
    this.requests += s[0];
    this.errors += s[1];
    for (let i = 2; i < s.length; i += 2) this.buckets[s[i]] += s[i + 1];
    if (s[0] > 0) {
      if (input.slot === undefined) this.slots = null;
      else this.slots?.push(input.slot);
    }
  }

  /** The figures; `merge` is the scratch the HDR slots are added in. */
  figures(second: number, merge: SlotMerge): MergedSide {
    const { requests, errors } = this;
    if (requests === 0) return { requests, errors, p50: 0, p95: 0, p99: 0 };
    if (this.slots !== null && this.slots.length > 0) {
      merge.reset();
      for (const slot of this.slots) merge.addSlot(second, slot);
      const s = merge.snapshot(second * 1000 + 1000);
      return { requests, errors, p50: s.p50, p95: s.p95, p99: s.p99 };
    }
    const b = this.buckets;
    return {
      requests,
      errors,
      p50: bucketQuantile(b, requests, 0.5),
      p95: bucketQuantile(b, requests, 0.95),
      p99: bucketQuantile(b, requests, 0.99),
    };
  }
}

export class FleetSeriesMerge {
  readonly #local: string;
  readonly #revise: number;
  readonly #silent: number;
  /** Epoch second → instance → its parsed payload of the second. */
  readonly #seconds = new Map<number, Map<string, ParsedFleetPayload>>();
  /** Route → instance → its latest shadow counts and the second they are as of. */
  readonly #shadow = new Map<
    string,
    Map<string, { pairs: readonly [number, number]; second: number }>
  >();
  readonly #merge = new SlotMerge();
  /** Payloads that could not be read, since start. */
  rejected = 0;

  constructor(options: FleetSeriesOptions) {
    this.#local = options.localInstance;
    this.#revise = options.reviseSeconds ?? 2;
    this.#silent = options.silentSeconds ?? 10;
  }

  /**
   * Takes the payloads of `newest` and the seconds before it still open to
   * revision, each (instance, second) once. Answers the seconds that gained a
   * payload, oldest first, and the events other instances published in them.
   */
  ingest(
    slots: Iterable<PublishedFigures>,
    newest: number,
  ): { revised: number[]; events: RemoteEvent[] } {
    const oldest = newest - this.#revise;
    for (const second of this.#seconds.keys()) if (second < oldest) this.#seconds.delete(second);
    const revised = new Set<number>();
    const events: RemoteEvent[] = [];
    for (const { instance, second, payload } of slots) {
      if (second < oldest || second > newest) continue;
      let held = this.#seconds.get(second);
      if (held?.has(instance)) continue;
      const parsed = parseFleetPayload(payload);
      if (parsed === undefined) {
        this.rejected++;
        continue;
      }
      if (held === undefined) {
        held = new Map();
        this.#seconds.set(second, held);
      }
      held.set(instance, parsed);
      revised.add(second);
      this.#takeShadow(instance, second, parsed);
      if (instance !== this.#local && parsed.events) {
        for (const event of parsed.events.breakers)
          events.push({ kind: 'breaker', instance, event });
        for (const entry of parsed.events.notes) events.push({ kind: 'note', instance, entry });
      }
    }
    this.#dropSilent(newest);
    return { revised: [...revised].sort((a, b) => a - b), events };
  }

  /** The fleet's figures of `second` (every payload taken for it). */
  merged(second: number): MergedSecond {
    const held = this.#seconds.get(second);
    const sums = new Map<string, { legacy: SideSum; candidate: SideSum }>();
    for (const payload of held?.values() ?? []) {
      for (const [name, r] of payload.series ?? []) {
        if (!r.legacy && !r.candidate) continue;
        const window = payload.routes.get(name);
        let sum = sums.get(name);
        if (sum === undefined) {
          sum = { legacy: new SideSum(), candidate: new SideSum() };
          sums.set(name, sum);
        }
        if (r.legacy) sum.legacy.add({ summary: r.legacy, slot: window?.legacy });
        if (r.candidate) sum.candidate.add({ summary: r.candidate, slot: window?.candidate });
      }
    }
    const routes = new Map<string, { legacy?: MergedSide; candidate?: MergedSide }>();
    for (const [name, sum] of sums) {
      routes.set(name, {
        ...(sum.legacy.served && { legacy: sum.legacy.figures(second, this.#merge) }),
        ...(sum.candidate.served && { candidate: sum.candidate.figures(second, this.#merge) }),
      });
    }
    return { second, instances: held?.size ?? 0, routes };
  }

  /**
   * The route's shadow pairs over the fleet (each instance's latest counts,
   * summed), or undefined when no instance but this one published any: the
   * caller's own tally says the same then, and fresher.
   */
  shadow(route: string): { compared: number; mismatched: number } | undefined {
    const byInstance = this.#shadow.get(route);
    if (byInstance === undefined) return undefined;
    let others = false;
    let compared = 0;
    let mismatched = 0;
    for (const [instance, { pairs }] of byInstance) {
      others ||= instance !== this.#local;
      compared += pairs[0];
      mismatched += pairs[1];
    }
    return others ? { compared, mismatched } : undefined;
  }

  #takeShadow(instance: string, second: number, parsed: ParsedFleetPayload): void {
    for (const [name, r] of parsed.series ?? []) {
      if (!r.shadow) continue;
      let byInstance = this.#shadow.get(name);
      if (byInstance === undefined) {
        byInstance = new Map();
        this.#shadow.set(name, byInstance);
      }
      const known = byInstance.get(instance);
      if (known === undefined || second >= known.second) {
        byInstance.set(instance, { pairs: r.shadow, second });
      }
    }
  }

  /** An instance that published nothing for `silentSeconds` left: its shadow counts go. */
  #dropSilent(newest: number): void {
    for (const [route, byInstance] of this.#shadow) {
      for (const [instance, { second }] of byInstance) {
        if (second < newest - this.#silent) byInstance.delete(instance);
      }
      if (byInstance.size === 0) this.#shadow.delete(route);
    }
  }
}
