// The rollout ledger: every transition, and every check that changed
// something, with the numbers behind it. Kept in the state store (one
// namespace per route, keys in time order) so it survives restarts.
import type { StateStore } from '../state/index.ts';
import type { Actor, GateResult, RolloutStateName } from './types.ts';

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
  readonly reason: string;
  /** Consecutive failed checks at the time. */
  readonly failures: number;
  readonly gates: readonly GateResult[];
}

/** Entries kept per route; older ones are dropped as new ones come. */
export const LEDGER_LIMIT = 1000;

const namespaceOf = (route: string): string => `rollout-history:${route}`;

export class Ledger {
  readonly #store: StateStore;
  /** Next sequence number per route (loaded on first append). */
  readonly #next = new Map<string, number>();
  #chain: Promise<void> = Promise.resolve();

  constructor(store: StateStore) {
    this.#store = store;
  }

  /** Appends in call order, even when called without awaiting. */
  append(entry: LedgerEntry): Promise<void> {
    const run = this.#chain.then(() => this.#write(entry));
    this.#chain = run.catch(() => {});
    return run;
  }

  async #write(entry: LedgerEntry): Promise<void> {
    const ns = namespaceOf(entry.route);
    let seq = this.#next.get(entry.route);
    if (seq === undefined) {
      const keys = [...(await this.#store.list(ns)).keys()];
      seq = keys.length === 0 ? 0 : Number(keys[keys.length - 1]) + 1;
    }
    this.#next.set(entry.route, seq + 1);
    await this.#store.set(ns, String(seq).padStart(12, '0'), entry);
    if (seq >= LEDGER_LIMIT && seq % 100 === 0) await this.#trim(ns, seq - LEDGER_LIMIT);
  }

  async #trim(ns: string, below: number): Promise<void> {
    for (const key of (await this.#store.list(ns)).keys()) {
      if (Number(key) <= below) await this.#store.delete(ns, key);
    }
  }

  /** Oldest first; the newest `limit` entries. */
  async history(route: string, limit = LEDGER_LIMIT): Promise<LedgerEntry[]> {
    await this.#chain;
    const entries = [...(await this.#store.list<LedgerEntry>(namespaceOf(route))).values()];
    return entries.slice(Math.max(0, entries.length - limit));
  }

  /** Waits for appends in flight (shutdown). */
  async flush(): Promise<void> {
    await this.#chain;
  }
}
