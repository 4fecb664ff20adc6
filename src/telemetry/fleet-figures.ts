// The leader's view of every instance's published figures: payloads go in as
// the fleet store hands them over (state's FigureSlot), routes come out in the
// shape the rollout controller reads (rollout's RouteFigures, structurally),
// with this instance's own current second read live.
//
// How the integrator calls it, on the leader, once a second before the checks:
//
//   const fleet = new FleetFigures({ localInstance: id, retainSeconds, clock: statsNow });
//   const { rejected } = fleet.ingest(await store.readFigures(from, to));  // count `rejected`
//   for (const gone of silentInstances) fleet.forget(gone);
//   const figures = fleet.route(name, localSource);  // a RouteFigures for the controller
//
// `localSource` is this instance's own route, the fields buildFiguresPayload
// takes (fleet-payload.ts): its windows are read live for the seconds they
// hold, its counts and breaker state as of now.
//
// Payloads are taken once per (instance, second): reading overlapping spans
// again costs a lookup, not a decode.

import { parseFiguresPayload, type RouteFigureSource, type RoutePayload } from './fleet-payload.ts';
import { type FleetShadowReading, FleetShadowTally } from './fleet-shadow.ts';
import { FleetWindow } from './fleet-window.ts';

/** One instance's payload for one second, as the fleet store holds it (state's FigureSlot). */
export interface PublishedFigures {
  readonly instance: string;
  /** Epoch seconds. */
  readonly second: number;
  readonly payload: string;
}

export interface FleetFiguresOptions {
  /** The id this instance publishes under (its own seconds are read live when `route` is given them). */
  localInstance: string;
  /** Whole seconds kept before the current one: the longest gate window, in seconds, plus one. */
  retainSeconds: number;
  /** Epoch ms; pass request-stats.ts `statsNow`, the clock the live windows record with. */
  clock?: () => number;
}

/** A route over the whole fleet, as rollout's RouteFigures reads it. */
export interface FleetRouteFigures {
  readonly legacy: FleetWindow;
  readonly candidate: FleetWindow;
  /** Candidate requests served by the fleet; only ever grows (see RouteState.count). */
  readonly candidateCount: number;
  /** Undefined until some instance published shadow counts for the route. */
  readonly shadow: FleetShadowTally | undefined;
  /** True when any instance's last word, 3 s old at most (or this instance's live state), is that the candidate's breaker is open. */
  readonly candidateBreakerOpen: boolean;
}

/**
 * Seconds an instance's word on its candidate breaker counts for. A route
 * being rolled is published every second, so a word this old means the
 * instance stopped publishing the route (its rollout ended there, or it is
 * going silent): a breaker it saw open then must not roll back a later run.
 */
const BREAKER_WORD_SECONDS = 3;

/** What the fleet last said of one route, instance by instance. */
class RouteState {
  readonly legacy: FleetWindow;
  readonly candidate: FleetWindow;
  /** The largest candidateCount seen of each instance. */
  readonly #counts = new Map<string, number>();
  /**
   * The sum of what each instance's count grew by since it was first seen.
   * Monotone by construction: an instance that leaves keeps its requests in
   * the total, and a reading older than one already taken (a late second) is
   * lower, so it adds nothing. Ids name processes: a process restarted under
   * an id it used before adds only what passes its old count (fewer step
   * requests, so a later promotion, never an early one).
   */
  #total = 0;
  readonly #shadow = new Map<string, FleetShadowReading>();
  /** Each instance's breaker state with the second it was true as of. */
  readonly #open = new Map<string, { second: number; open: boolean }>();

  constructor(legacy: FleetWindow, candidate: FleetWindow) {
    this.legacy = legacy;
    this.candidate = candidate;
  }

  /** An instance's running counts as of `second`. */
  take(instance: string, second: number, r: Omit<RoutePayload, 'legacy' | 'candidate'>): void {
    const before = this.#counts.get(instance);
    if (before === undefined || r.candidateCount > before) {
      this.#total += r.candidateCount - (before ?? 0);
      this.#counts.set(instance, r.candidateCount);
    }
    const shadow = r.shadow;
    const known = this.#shadow.get(instance);
    // Pairs only ever grow in one process: the reading with more pairs is the newer one.
    if (shadow !== undefined && (known === undefined || shadow.compared >= known.compared)) {
      this.#shadow.set(instance, shadow);
    }
    const open = this.#open.get(instance);
    if (open === undefined || second >= open.second) {
      this.#open.set(instance, { second, open: r.candidateBreakerOpen });
    }
  }

  forget(instance: string): void {
    this.legacy.forget(instance);
    this.candidate.forget(instance);
    // The counts stay: the requests and pairs were served. Its breaker state goes with it.
    this.#open.delete(instance);
  }

  figures(source: object, nowSecond: number): FleetRouteFigures {
    let open = false;
    for (const o of this.#open.values()) {
      open ||= o.open && o.second >= nowSecond - BREAKER_WORD_SECONDS;
    }
    return {
      legacy: this.legacy,
      candidate: this.candidate,
      candidateCount: this.#total,
      shadow: this.#shadow.size === 0 ? undefined : new FleetShadowTally(source, this.#shadow),
      candidateBreakerOpen: open,
    };
  }
}

export class FleetFigures {
  readonly #local: string;
  readonly #retainSeconds: number;
  readonly #clock: () => number;
  readonly #routes = new Map<string, RouteState>();
  /** Epoch second → instances whose payload of that second was taken (or rejected). */
  readonly #taken = new Map<number, Set<string>>();

  constructor(options: FleetFiguresOptions) {
    const { localInstance, retainSeconds, clock = () => Date.now() } = options;
    if (!Number.isInteger(retainSeconds) || retainSeconds < 1) {
      throw new RangeError(`retainSeconds must be a positive integer, got ${retainSeconds}`);
    }
    this.#local = localInstance;
    this.#retainSeconds = retainSeconds;
    this.#clock = clock;
  }

  /**
   * Takes the payloads not taken before; `rejected` counts the malformed ones
   * among them (each once). Seconds older than retainSeconds are skipped.
   */
  ingest(slots: Iterable<PublishedFigures>): { accepted: number; rejected: number } {
    const oldest = Math.floor(this.#clock() / 1000) - this.#retainSeconds;
    for (const second of this.#taken.keys()) if (second < oldest) this.#taken.delete(second);
    let accepted = 0;
    let rejected = 0;
    for (const { instance, second, payload } of slots) {
      if (!Number.isSafeInteger(second) || second < oldest) continue;
      let taken = this.#taken.get(second);
      if (taken === undefined) {
        taken = new Set();
        this.#taken.set(second, taken);
      }
      if (taken.has(instance)) continue;
      taken.add(instance);
      const routes = parseFiguresPayload(payload);
      if (routes === undefined) {
        rejected++;
        continue;
      }
      accepted++;
      for (const [name, r] of routes) {
        const state = this.#state(name);
        if (r.legacy !== undefined) state.legacy.add(instance, second, r.legacy);
        if (r.candidate !== undefined) state.candidate.add(instance, second, r.candidate);
        state.take(instance, second, r);
      }
    }
    return { accepted, rejected };
  }

  /**
   * An instance went silent (or left): its seconds leave every window, its
   * breaker state every route. The seconds it published stay taken, so
   * reading them again from the store does not bring it back; a second it
   * publishes later does (it is alive after all).
   */
  forget(instance: string): void {
    for (const state of this.#routes.values()) state.forget(instance);
  }

  /** The rollout of a route is over: its figures go (they come back if an instance publishes it again). */
  dropRoute(name: string): void {
    this.#routes.delete(name);
  }

  /**
   * The fleet's figures of a route; undefined when no instance published it
   * and `local` is not given. `local`: this instance's own route now (the
   * fields buildFiguresPayload takes), read live for its windows' current
   * seconds and its running counts.
   */
  route(name: string, local?: Omit<RouteFigureSource, 'route'>): FleetRouteFigures | undefined {
    let state = this.#routes.get(name);
    if (state === undefined && local === undefined) return undefined;
    state ??= this.#state(name);
    if (local !== undefined) {
      state.legacy.setLive(local.legacy);
      state.candidate.setLive(local.candidate);
      state.take(this.#local, Math.floor(this.#clock() / 1000), local);
    }
    return state.figures(this, Math.floor(this.#clock() / 1000));
  }

  #state(name: string): RouteState {
    let state = this.#routes.get(name);
    if (state === undefined) {
      const options = {
        retainSeconds: this.#retainSeconds,
        clock: this.#clock,
        localInstance: this.#local,
      };
      state = new RouteState(new FleetWindow(options), new FleetWindow(options));
      this.#routes.set(name, state);
    }
    return state;
  }
}
