// The only writer of rollout state: the records, the ledger and the route's
// weight go to the fleet store in ONE commit per move, then the weight
// applies here, then the metrics, the log line and the webhooks follow.
//
// Who may write what (the fleet has one leader, issue 11):
// - 'leader': the controller's checks and the confirm answers. Fenced by the
//   lease epoch and conditional on the record's version, so a leader that was
//   paused past its lease, or that decided while an operator or a rollback
//   moved the route, writes nothing.
// - 'operator': manual actions and config starts, from any instance;
//   conditional on the record's version (a concurrent move makes them fail
//   with a conflict instead of overwriting it).
// - 'rollback': weight 0 is always safe, so any instance may roll back on its
//   own, unconditionally; made while the store is away, it applies here at
//   once and is written when the store returns, over anything decided meanwhile.
import { RolloutConflictError } from '../errors.ts';
import {
  CONTROLLER_LEASE,
  type CommitGuard,
  type FleetMember,
  type FleetOp,
  type FleetStore,
  ROLLOUT_NS,
  unavailable,
  WEIGHT_NS,
} from '../state/index.ts';
import type { Logger } from '../telemetry/index.ts';
import { Ledger, type LedgerEntry, type LedgerKind } from './ledger.ts';
import type { RolloutMetrics } from './metrics.ts';
import type { RolloutRecord } from './state.ts';
import type { Actor, GateResult, RolloutEvent, WebhookConfig, Who } from './types.ts';
import type { Webhooks } from './webhooks.ts';

export type Writer = 'leader' | 'operator' | 'rollback';

export interface JournalOptions {
  readonly store: FleetStore;
  readonly member?: FleetMember;
  readonly logger: Logger;
  readonly webhooks: Webhooks;
  readonly clock: () => number;
  /** The route's weight now (undefined when the route is gone). */
  readonly liveWeight: (route: string) => number | undefined;
  /** Applies a runtime weight this journal committed (undefined: back to the file's). */
  readonly applyWeight: (route: string, weight: number | undefined) => void;
  /** The event webhooks of a route (its own and the global ones). */
  readonly eventHooks: (route: string) => readonly WebhookConfig[];
  readonly metrics: () => RolloutMetrics | undefined;
}

interface Held {
  readonly rec: RolloutRecord;
  /** The store version of the record (0: not in the store). */
  readonly version: number;
}

export class RolloutJournal {
  readonly ledger: Ledger;
  readonly #o: JournalOptions;
  readonly #records = new Map<string, Held>();
  /** Rollbacks made while the store was away, written when it returns. */
  readonly #pending = new Map<string, FleetOp[]>();

  constructor(
    options: JournalOptions,
    records: ReadonlyMap<string, { value: RolloutRecord; version: number }>,
  ) {
    this.#o = options;
    this.ledger = new Ledger(options.store);
    for (const [k, v] of records) this.#records.set(k, { rec: v.value, version: v.version });
  }

  get(route: string): RolloutRecord | undefined {
    return this.#records.get(route)?.rec;
  }

  /** Routes with a record. */
  routes(): string[] {
    return [...this.#records.keys()];
  }

  /** A record another instance committed (the change feed); false when it is no news. */
  applyRecord(route: string, rec: RolloutRecord | undefined, version: number): boolean {
    const held = this.#records.get(route);
    if (held && held.version >= version) return false;
    if (this.#pending.has(route)) return false;
    if (rec) this.#records.set(route, { rec, version });
    else this.#records.delete(route);
    return true;
  }

  /** The records as the store holds them now (a gap in the feed, a new leader). */
  async reload(): Promise<void> {
    const stored = await this.#o.store.listVersioned<RolloutRecord>(ROLLOUT_NS);
    for (const route of this.#records.keys())
      if (!stored.has(route) && !this.#pending.has(route)) this.#records.delete(route);
    for (const [route, v] of stored) this.applyRecord(route, v.value, v.version);
  }

  /** Writes the rollbacks made while the store was away (they win: no condition). */
  async flushPending(): Promise<void> {
    for (const [route, ops] of this.#pending) {
      const result = await this.#o.store.commit(ops);
      if (!result.ok) continue;
      this.#pending.delete(route);
      const rec = this.#records.get(route)?.rec;
      if (rec) this.#records.set(route, { rec, version: result.version });
      this.#o.logger.warn({ route }, 'rollback made while the state store was away is now stored');
    }
  }

  /** Rollbacks not yet in the store. */
  get pending(): number {
    return this.#pending.size;
  }

  /** A record change this instance keeps to itself while the store is away (a failed check's count). */
  keepLocally(route: string, rec: RolloutRecord): void {
    const held = this.#records.get(route);
    this.#records.set(route, { rec, version: held?.version ?? 0 });
  }

  /** A change that is no move (failure count, a re-indexed step): the record only. */
  save(route: string, rec: RolloutRecord, writer: Writer): Promise<boolean> {
    return this.#commit(route, rec, [], writer);
  }

  /**
   * A move from `from` to `to`, with the gate values behind it. False when
   * the store refused it (fenced, conflict) or did not answer; an operator's
   * move throws instead, so the API says why.
   */
  async move(
    route: string,
    from: RolloutRecord,
    to: RolloutRecord,
    gates: readonly GateResult[],
    writer: Writer,
    who?: Who,
  ): Promise<boolean> {
    // The live weight, not the record's: a rollout starts from whatever weight the file gave the route.
    const live = this.#o.liveWeight(route) ?? from.weight;
    const entry = this.#entry(
      'transition',
      route,
      { ...from, weight: live },
      to,
      to.by,
      to.reason,
      gates,
      who,
    );
    const ops: FleetOp[] = [this.ledger.appendOp(entry)];
    if (to.weight !== live) ops.push({ op: 'set', ns: WEIGHT_NS, key: route, value: to.weight });
    if (!(await this.#commit(route, to, ops, writer))) return false;
    if (to.weight !== live) this.#o.applyWeight(route, to.weight);
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
    return true;
  }

  /** Back to `off` and the file's weight, in one commit with its ledger entry. */
  async reset(
    route: string,
    from: RolloutRecord,
    off: RolloutRecord,
    by: Actor,
    who?: Who,
  ): Promise<boolean> {
    const entry = this.#entry('transition', route, from, off, by, off.reason, [], who);
    const ops: FleetOp[] = [
      { op: 'delete', ns: WEIGHT_NS, key: route },
      this.ledger.appendOp(entry),
    ];
    if (!(await this.#commit(route, off, ops, 'operator'))) return false;
    this.#o.applyWeight(route, undefined);
    return true;
  }

  /**
   * A ledger entry that is no move: a change of gate outcomes or a refused
   * confirm (the leader's, fenced), or an operator's change outside the state
   * machine (a weight by hand, a forced breaker: `operator`, from any instance).
   */
  async note(
    kind: LedgerKind,
    route: string,
    from: RolloutRecord,
    to: RolloutRecord,
    by: Actor,
    reason: string,
    gates: readonly GateResult[],
    who?: { readonly who: Who; readonly writer: 'operator' },
  ): Promise<void> {
    const entry = this.#entry(kind, route, from, to, by, reason, gates, who?.who);
    await this.#commit(route, undefined, [this.ledger.appendOp(entry)], who?.writer ?? 'leader');
  }

  #entry(
    kind: LedgerKind,
    route: string,
    from: RolloutRecord,
    to: RolloutRecord,
    by: Actor,
    reason: string,
    gates: readonly GateResult[],
    who?: Who,
  ): LedgerEntry {
    return {
      at: new Date(this.#o.clock()).toISOString(),
      route,
      kind,
      from: from.state,
      to: to.state,
      step: to.step,
      previousWeight: from.weight,
      weight: to.weight,
      by,
      ...(who ? { who } : {}),
      reason,
      failures: to.failures,
      gates,
    };
  }

  /** Commits `rec` (when given) with `ops` as `writer` may; true when it took effect. */
  async #commit(
    route: string,
    rec: RolloutRecord | undefined,
    ops: FleetOp[],
    writer: Writer,
  ): Promise<boolean> {
    const { store, member } = this.#o;
    const all: FleetOp[] = rec
      ? [{ op: 'set', ns: ROLLOUT_NS, key: route, value: rec }, ...ops]
      : ops;
    const guard: CommitGuard = {};
    if (writer !== 'rollback' && rec) {
      Object.assign(guard, {
        expect: [{ ns: ROLLOUT_NS, key: route, version: this.#records.get(route)?.version ?? 0 }],
      });
    }
    if (writer === 'leader' && member) {
      if (member.epoch === undefined) return false;
      Object.assign(guard, { lease: { name: CONTROLLER_LEASE, epoch: member.epoch } });
    }
    if (writer === 'rollback' && member && !member.health.up)
      return this.#holdBack(route, rec, all);
    let result: Awaited<ReturnType<FleetStore['commit']>>;
    try {
      result = await store.commit(all, guard);
    } catch (error) {
      member?.report(error as Error);
      if (writer === 'rollback') return this.#holdBack(route, rec, all);
      if (writer === 'operator') throw unavailable(store, error);
      return false;
    }
    if (!result.ok) {
      if (result.reason === 'fenced') member?.lost('a write was fenced: another instance leads');
      else await this.#refresh(route);
      if (writer === 'operator') {
        throw new RolloutConflictError(
          `the rollout of route "${route}" changed meanwhile (on another instance); read it again and retry`,
        );
      }
      return false;
    }
    member?.committed(result.version);
    if (rec) this.#records.set(route, { rec, version: result.version });
    this.#written(ops);
    return true;
  }

  /** A rollback while the store is away: in force here now, written when it returns. */
  #holdBack(route: string, rec: RolloutRecord | undefined, ops: FleetOp[]): boolean {
    const held = this.#records.get(route);
    if (rec) this.#records.set(route, { rec, version: held?.version ?? 0 });
    this.#pending.set(route, ops);
    this.#written(ops);
    return true;
  }

  /** Tells the ledger's listeners of the entries among `ops`. */
  #written(ops: readonly FleetOp[]): void {
    for (const op of ops) if (op.op === 'append') this.ledger.written(op.value as LedgerEntry);
  }

  /** Reads the route's record from the store (an operator acts on what the fleet has, not on a feed a second old). */
  refresh(route: string): Promise<void> {
    return this.#refresh(route);
  }

  async #refresh(route: string): Promise<void> {
    const v = await this.#o.store
      .getVersioned<RolloutRecord>(ROLLOUT_NS, route)
      .catch(() => undefined);
    if (v) this.applyRecord(route, v.value, v.version);
  }
}
