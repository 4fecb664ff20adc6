// The only writer of rollout state: the records (state store), the ledger,
// the route's weight, the webhooks, the log line and the metrics of every
// move, in that order of importance — the weight first, so a rollback takes
// effect before anything else.
import type { StateStore } from '../state/index.ts';
import type { Logger } from '../telemetry/index.ts';
import { Ledger, type LedgerEntry, type LedgerKind } from './ledger.ts';
import type { RolloutMetrics } from './metrics.ts';
import { ROLLOUT_NAMESPACE, type RolloutRecord } from './state.ts';
import type { Actor, GateResult, RolloutEvent, WebhookConfig } from './types.ts';
import type { Webhooks } from './webhooks.ts';

export interface JournalOptions {
  readonly store: StateStore;
  readonly logger: Logger;
  readonly webhooks: Webhooks;
  readonly clock: () => number;
  /** The route's weight now (undefined when the route is gone). */
  readonly liveWeight: (route: string) => number | undefined;
  readonly setWeight: (route: string, weight: number) => Promise<void>;
  /** The event webhooks of a route (its own and the global ones). */
  readonly eventHooks: (route: string) => readonly WebhookConfig[];
  readonly metrics: () => RolloutMetrics | undefined;
}

export class RolloutJournal {
  readonly ledger: Ledger;
  readonly #o: JournalOptions;
  readonly #records = new Map<string, RolloutRecord>();

  constructor(options: JournalOptions, records: ReadonlyMap<string, RolloutRecord>) {
    this.#o = options;
    this.ledger = new Ledger(options.store);
    for (const [k, v] of records) this.#records.set(k, v);
  }

  get(route: string): RolloutRecord | undefined {
    return this.#records.get(route);
  }

  /** A change that is no move (failure count, a re-indexed step): the record only. */
  async save(route: string, rec: RolloutRecord): Promise<void> {
    this.#records.set(route, rec);
    await this.#o.store.set(ROLLOUT_NAMESPACE, route, rec);
  }

  /** A move from `from` to `to`, with the gate values behind it. */
  async move(
    route: string,
    from: RolloutRecord,
    to: RolloutRecord,
    gates: readonly GateResult[],
  ): Promise<void> {
    // The live weight, not the record's: a rollout starts from whatever weight the file gave the route.
    const live = this.#o.liveWeight(route) ?? from.weight;
    if (to.weight !== live) await this.#o.setWeight(route, to.weight);
    await this.save(route, to);
    this.#o.metrics()?.transition(route, from.state, to.state);
    this.#o.logger[to.state === 'rolled-back' ? 'warn' : 'info'](
      {
        route,
        from: from.state,
        to: to.state,
        step: to.step,
        weight: to.weight,
        by: to.by,
        reason: to.reason,
      },
      `rollout ${route}: ${from.state} → ${to.state} at ${to.weight}%`,
    );
    const hooks = this.#o.eventHooks(route);
    if (hooks.length > 0) {
      const event: RolloutEvent = {
        type: 'rollout',
        route,
        from: from.state,
        to: to.state,
        step: to.step,
        previousWeight: live,
        weight: to.weight,
        reason: to.reason,
        by: to.by,
        gates,
        at: new Date(this.#o.clock()).toISOString(),
      };
      // Never awaited: a slow or dead webhook must not hold back the next move.
      void this.#o.webhooks.notify(hooks, event);
    }
    await this.note('transition', route, { ...from, weight: live }, to, to.by, to.reason, gates);
  }

  /** A ledger entry (a move, a change of gate outcomes, a refused confirm). */
  note(
    kind: LedgerKind,
    route: string,
    from: RolloutRecord,
    to: RolloutRecord,
    by: Actor,
    reason: string,
    gates: readonly GateResult[],
  ): Promise<void> {
    const entry: LedgerEntry = {
      at: new Date(this.#o.clock()).toISOString(),
      route,
      kind,
      from: from.state,
      to: to.state,
      step: to.step,
      previousWeight: from.weight,
      weight: to.weight,
      by,
      reason,
      failures: to.failures,
      gates,
    };
    return this.ledger.append(entry);
  }
}
