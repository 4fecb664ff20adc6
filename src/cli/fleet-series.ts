// The dashboard's view of the whole fleet (issue 14): once a second, after
// the series sampler read this instance's second, this exchange publishes it
// (with the gates' figures, one payload: fleet-figures.ts), then — when other
// instances are up — reads every instance's payloads of the last seconds and
// answers their merge, which the series writes over its local points. The
// breaker transitions and the ledger entries that move nothing (gate
// changes, confirmations, notes) of the second ride along, so every
// instance's dashboards hear of what happened on the others.
//
// Timing: the sample and the publication run 50 ms after a second ends; the
// read waits until 300 ms after it, so the others' payloads of the second
// are in (a later one revises the point at the next read).
import { setTimeout as sleep } from 'node:timers/promises';
import type { DashboardFleet } from '../admin/index.ts';
import type { Gateway } from '../gateway/index.ts';
import type { RolloutController } from '../rollout/index.ts';
import type { FleetMember, FleetStore } from '../state/index.ts';
import {
  type BreakerEventPayload,
  FleetSeriesMerge,
  type LocalSecond,
  type MergedSecond,
  type RemoteEvent,
  type SeriesFleet,
  type SeriesRoutePayload,
  statsNow,
} from '../telemetry/index.ts';
import type { FleetFiguresExchange } from './fleet-figures.ts';

/** Milliseconds after a second ends when the fleet's payloads of it are read. */
const READ_AT_MS = 300;

/** Events of one second kept for the payload at most (a breaker flapping on every route is no news 500 times). */
const MAX_EVENTS = 100;

export class FleetSeriesExchange implements SeriesFleet, DashboardFleet {
  readonly #store: FleetStore;
  readonly #member: FleetMember;
  readonly #gateway: Gateway;
  readonly #figures: FleetFiguresExchange;
  readonly #merge: FleetSeriesMerge;
  readonly #listeners = new Set<(event: RemoteEvent) => void>();
  #breakers: BreakerEventPayload[] = [];
  #notes: Record<string, unknown>[] = [];
  /** The last publication: true once stored (a merge without this instance's own second would under-count). */
  #published: Promise<boolean> = Promise.resolve(false);
  #closed = false;
  /** Events not published because a second held more than MAX_EVENTS. */
  dropped = 0;
  readonly #unsubscribe: (() => void)[];

  constructor(options: {
    store: FleetStore;
    member: FleetMember;
    gateway: Gateway;
    rollouts: RolloutController;
    figures: FleetFiguresExchange;
  }) {
    const { store, member, gateway, rollouts, figures } = options;
    this.#store = store;
    this.#member = member;
    this.#gateway = gateway;
    this.#figures = figures;
    this.#merge = new FleetSeriesMerge({ localInstance: member.id });
    this.#unsubscribe = [
      gateway.onBreakerTransition((t) =>
        this.#keep(this.#breakers, {
          backend: t.backend,
          route: t.route,
          from: t.from,
          to: t.to,
          reason: t.reason,
          at: Math.round(t.at),
        }),
      ),
      rollouts.ledger.onEntry((entry) => {
        // Moves reach the others with the rollout record (the controller relays them); the
        // entries that move nothing — gate changes, confirmations, notes — travel here.
        if (entry.kind !== 'transition') this.#keep(this.#notes, { ...entry });
      }),
    ];
  }

  /** Payloads of other instances that could not be read, since start. */
  get rejected(): number {
    return this.#merge.rejected;
  }

  publish(second: number, local: LocalSecond): void {
    // A store only this process reads (memory) has no one to tell: the gates' figures alone.
    const shared = this.#store.kind !== 'memory';
    const events = { breakers: this.#breakers, notes: this.#notes };
    this.#breakers = [];
    this.#notes = [];
    this.#published = this.#closed
      ? Promise.resolve(false)
      : this.#figures.publish(second, shared ? { series: this.#withShadow(local), events } : {});
  }

  async merge(second: number): Promise<readonly MergedSecond[]> {
    const shared = this.#store.kind !== 'memory';
    const published = await this.#published;
    // Alone, the fleet's figures are this instance's: no read.
    if (!shared || !published || this.#member.instanceCount < 2) return [];
    const wait = (second + 1) * 1000 + READ_AT_MS - statsNow();
    if (wait > 0) await sleep(wait, undefined, { ref: false });
    if (this.#closed) return [];
    try {
      const slots = await this.#store.readFigures(second - 2, second);
      const { revised, events } = this.#merge.ingest(slots, second);
      for (const event of events) for (const listener of this.#listeners) listener(event);
      return revised.map((s) => this.#merge.merged(s));
    } catch (error) {
      this.#member.report(error as Error);
      return [];
    }
  }

  shadow(route: string): { compared: number; mismatched: number } | undefined {
    return this.#merge.shadow(route);
  }

  onRemote(listener: (event: RemoteEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops publishing and reading (the process stops; the store closes after). */
  close(): void {
    this.#closed = true;
    for (const off of this.#unsubscribe) off();
    this.#listeners.clear();
  }

  /** The local second with every route's shadow pairs (cumulative: a lost second loses nothing). */
  #withShadow(local: LocalSecond): Map<string, SeriesRoutePayload> {
    const out = new Map<string, SeriesRoutePayload>(local);
    for (const r of this.#gateway.routes()) {
      const tally = this.#gateway.shadowTally(r.name);
      if (!tally || tally.compared === 0) continue;
      out.set(r.name, { ...out.get(r.name), shadow: [tally.compared, tally.mismatched] });
    }
    return out;
  }

  #keep<T>(list: T[], item: T): void {
    if (list.length < MAX_EVENTS) list.push(item);
    else this.dropped++;
  }
}
