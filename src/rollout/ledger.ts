// The rollout ledger: every transition, and every check that changed
// something, with the numbers behind it. Kept in the state store (one
// namespace per route, keys in time order) so it survives restarts.
import { type FleetOp, type FleetStore, ledgerNs } from '../state/index.ts';
import type { Actor, GateResult, RolloutStateName, Who } from './types.ts';

export type LedgerKind = 'transition' | 'gates' | 'confirm' | 'note';

export interface LedgerEntry {
  /** ISO 8601. */
  readonly at: string;
  readonly route: string;
  readonly kind: LedgerKind;
  readonly from: RolloutStateName;
  readonly to: RolloutStateName;
  /** Index into the steps, or null outside canary. */
  readonly step: number | null;
  readonly previousWeight: number;
  readonly weight: number;
  readonly by: Actor;
  /** The person behind an `api` change (absent before issue 14, and for the controller's own moves). */
  readonly who?: Who;
  readonly reason: string;
  /** Consecutive failed checks at the time. */
  readonly failures: number;
  readonly gates: readonly GateResult[];
}

/** Entries kept per route; older ones are dropped as new ones come. */
export const LEDGER_LIMIT = 1000;

/** Where versions before the fleet kept a route's ledger (keys in time order); still read. */
const legacyNamespaceOf = (route: string): string => `rollout-history:${route}`;

/**
 * The ledger is a log in the fleet store: each entry gets its sequence number
 * from the store inside the commit that makes the move, so two instances can
 * never number two entries alike, and a move and its entry land together.
 */
export class Ledger {
  readonly #store: FleetStore;
  readonly #listeners = new Set<(entry: LedgerEntry) => void>();

  constructor(store: FleetStore) {
    this.#store = store;
  }

  /** The op that appends `entry`, for the commit of the move it records. */
  appendOp(entry: LedgerEntry): FleetOp {
    return { op: 'append', ns: ledgerNs(entry.route), value: entry, keep: LEDGER_LIMIT };
  }

  /** Calls `listener` with each entry this process writes, once it is stored (the dashboard's stream); returns the unsubscribe. */
  onEntry(listener: (entry: LedgerEntry) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The journal stored `entry` (or holds it until the store returns). */
  written(entry: LedgerEntry): void {
    for (const listener of this.#listeners) listener(entry);
  }

  /** Oldest first; the newest `limit` entries. */
  async history(route: string, limit = LEDGER_LIMIT): Promise<LedgerEntry[]> {
    const entries = (await this.#store.entries<LedgerEntry>(ledgerNs(route), limit)).map(
      (e) => e.value,
    );
    if (entries.length >= limit) return entries;
    const older = [...(await this.#store.list<LedgerEntry>(legacyNamespaceOf(route))).values()];
    return [...older, ...entries].slice(-limit);
  }
}
