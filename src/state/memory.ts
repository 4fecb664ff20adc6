// The fleet in one process (`state: memory`): tests and throwaway runs. It
// keeps the same contract as Local and Redis (test/state/fleet-contract.ts),
// so gateways that share one MemoryFleet object behave like a fleet.
import type {
  ChangesSince,
  CommitGuard,
  CommitResult,
  FigureSlot,
  FleetOp,
  FleetStore,
  HistoryRow,
  InstanceInfo,
  InstanceSeen,
  LeaseHold,
  TokenGrant,
  Versioned,
} from './fleet.ts';
import { compareHistoryRows, HISTORY_PRUNE_SPAN_MS, historyField } from './history-rows.ts';
import { FEED_KEEP, refill } from './rules.ts';

interface Stored {
  readonly text: string;
  readonly version: number;
}

interface FeedEntry {
  readonly version: number;
  readonly ns: string;
  readonly key: string;
  readonly text: string | undefined;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class MemoryStore implements FleetStore {
  readonly description = 'memory';
  readonly kind = 'memory';
  readonly #data = new Map<string, Map<string, Stored>>();
  readonly #feed: FeedEntry[] = [];
  /** Changes up to this version have left the feed. */
  #pruned = 0;
  #version = 0;
  readonly #logs = new Map<string, { next: number; entries: Map<number, string> }>();
  readonly #leases = new Map<string, LeaseHold>();
  readonly #lastEpoch = new Map<string, number>();
  readonly #instances = new Map<string, { info: InstanceInfo; seen: number; ttl: number }>();
  readonly #figures = new Map<string, FigureSlot>();
  readonly #buckets = new Map<string, Bucket>();
  /** Minute → historyField → row. */
  readonly #history = new Map<number, Map<string, HistoryRow>>();
  readonly #listeners = new Set<() => void>();
  readonly #clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  async get<T>(ns: string, key: string): Promise<T | undefined> {
    return (await this.getVersioned<T>(ns, key))?.value;
  }

  async set(ns: string, key: string, value: unknown): Promise<void> {
    await this.commit([{ op: 'set', ns, key, value }]);
  }

  async delete(ns: string, key: string): Promise<boolean> {
    const had = this.#data.get(ns)?.has(key) ?? false;
    if (had) await this.commit([{ op: 'delete', ns, key }]);
    return had;
  }

  async list<T>(ns: string): Promise<Map<string, T>> {
    const out = new Map<string, T>();
    for (const [k, v] of await this.listVersioned<T>(ns)) out.set(k, v.value);
    return out;
  }

  async getVersioned<T>(ns: string, key: string): Promise<Versioned<T> | undefined> {
    const s = this.#data.get(ns)?.get(key);
    return s && { value: JSON.parse(s.text) as T, version: s.version };
  }

  async listVersioned<T>(ns: string): Promise<Map<string, Versioned<T>>> {
    const out = new Map<string, Versioned<T>>();
    const keys = [...(this.#data.get(ns)?.keys() ?? [])].sort();
    for (const k of keys) {
      const s = this.#data.get(ns)?.get(k) as Stored;
      out.set(k, { value: JSON.parse(s.text) as T, version: s.version });
    }
    return out;
  }

  async commit(ops: readonly FleetOp[], guard: CommitGuard = {}): Promise<CommitResult> {
    const now = this.#clock();
    if (guard.lease) {
      const l = this.#leases.get(guard.lease.name);
      if (!l || l.epoch !== guard.lease.epoch || l.expiresAt <= now)
        return { ok: false, reason: 'fenced' };
    }
    for (const e of guard.expect ?? []) {
      if ((this.#data.get(e.ns)?.get(e.key)?.version ?? 0) !== e.version)
        return { ok: false, reason: 'conflict' };
    }
    const version = ++this.#version;
    const seqs: number[] = [];
    for (const op of ops) {
      if (op.op === 'append') {
        seqs.push(this.#append(op.ns, JSON.stringify(op.value), op.keep));
        continue;
      }
      let ns = this.#data.get(op.ns);
      if (!ns) {
        ns = new Map();
        this.#data.set(op.ns, ns);
      }
      const text = op.op === 'set' ? JSON.stringify(op.value) : undefined;
      if (text === undefined) ns.delete(op.key);
      else ns.set(op.key, { text, version });
      this.#feed.push({ version, ns: op.ns, key: op.key, text });
    }
    while (this.#feed.length > FEED_KEEP) this.#pruned = (this.#feed.shift() as FeedEntry).version;
    for (const l of this.#listeners) queueMicrotask(l);
    return { ok: true, version, seqs };
  }

  #append(ns: string, text: string, keep: number): number {
    let log = this.#logs.get(ns);
    if (!log) {
      log = { next: 0, entries: new Map() };
      this.#logs.set(ns, log);
    }
    const seq = log.next++;
    log.entries.set(seq, text);
    log.entries.delete(seq - keep);
    return seq;
  }

  async version(): Promise<number> {
    return this.#version;
  }

  async changesSince(version: number): Promise<ChangesSince | 'reload'> {
    if (version > this.#version || version < this.#pruned) return 'reload';
    const last = new Map<string, FeedEntry>();
    for (const e of this.#feed) if (e.version > version) last.set(`${e.ns}\u0000${e.key}`, e);
    const changes = [...last.values()]
      .sort((a, b) => a.version - b.version)
      .map((e) => ({
        version: e.version,
        ns: e.ns,
        key: e.key,
        value: e.text === undefined ? undefined : JSON.parse(e.text),
      }));
    return { version: this.#version, changes };
  }

  onChange(listener: () => void): () => void {
    const once = () => listener();
    this.#listeners.add(once);
    return () => this.#listeners.delete(once);
  }

  async entries<T>(ns: string, limit: number): Promise<{ seq: number; value: T }[]> {
    const log = this.#logs.get(ns);
    if (!log) return [];
    const seqs = [...log.entries.keys()].sort((a, b) => a - b).slice(-limit);
    return seqs.map((seq) => ({ seq, value: JSON.parse(log.entries.get(seq) as string) as T }));
  }

  async acquire(name: string, holder: string, ttlMs: number): Promise<LeaseHold | undefined> {
    const now = this.#clock();
    const cur = this.#leases.get(name);
    if (cur && cur.expiresAt > now && cur.holder !== holder) return undefined;
    const keeps = cur !== undefined && cur.expiresAt > now;
    const epoch = keeps ? cur.epoch : (this.#lastEpoch.get(name) ?? 0) + 1;
    this.#lastEpoch.set(name, epoch);
    const hold = { name, holder, epoch, expiresAt: now + ttlMs };
    this.#leases.set(name, hold);
    return hold;
  }

  async renew(name: string, holder: string, epoch: number, ttlMs: number): Promise<boolean> {
    const now = this.#clock();
    const cur = this.#leases.get(name);
    if (!cur || cur.holder !== holder || cur.epoch !== epoch || cur.expiresAt <= now) return false;
    this.#leases.set(name, { ...cur, expiresAt: now + ttlMs });
    return true;
  }

  async release(name: string, holder: string, epoch: number): Promise<void> {
    const cur = this.#leases.get(name);
    if (cur?.holder === holder && cur.epoch === epoch) this.#leases.delete(name);
  }

  async holder(name: string): Promise<LeaseHold | undefined> {
    const cur = this.#leases.get(name);
    return cur && cur.expiresAt > this.#clock() ? cur : undefined;
  }

  async heartbeat(info: InstanceInfo, ttlMs: number): Promise<void> {
    this.#instances.set(info.id, { info, seen: this.#clock(), ttl: ttlMs });
  }

  async instances(): Promise<InstanceSeen[]> {
    const now = this.#clock();
    const out: InstanceSeen[] = [];
    for (const [id, i] of this.#instances) {
      if (i.seen + i.ttl <= now) this.#instances.delete(id);
      else out.push({ ...i.info, lastSeen: new Date(i.seen).toISOString() });
    }
    return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
  }

  async leave(id: string): Promise<void> {
    this.#instances.delete(id);
  }

  async publishFigures(slot: FigureSlot, retainSeconds: number): Promise<void> {
    this.#figures.set(`${slot.second}\u0000${slot.instance}`, slot);
    const oldest = Math.floor(this.#clock() / 1000) - retainSeconds;
    for (const [k, s] of this.#figures) if (s.second < oldest) this.#figures.delete(k);
  }

  async readFigures(fromSecond: number, toSecond: number): Promise<FigureSlot[]> {
    const out: FigureSlot[] = [];
    for (const s of this.#figures.values())
      if (s.second >= fromSecond && s.second <= toSecond) out.push(s);
    return out.sort((a, b) => a.second - b.second || a.instance.localeCompare(b.instance));
  }

  async writeHistory(rows: readonly HistoryRow[], retainMs: number): Promise<void> {
    const oldest = this.#clock() - retainMs;
    for (const row of rows) {
      if (row.minute < oldest) continue;
      let minute = this.#history.get(row.minute);
      if (!minute) {
        minute = new Map();
        this.#history.set(row.minute, minute);
      }
      minute.set(historyField(row), { ...row });
    }
    let first = Number.POSITIVE_INFINITY;
    for (const m of this.#history.keys()) if (m < first) first = m;
    const cut = Math.min(oldest, first + HISTORY_PRUNE_SPAN_MS);
    for (const m of [...this.#history.keys()]) if (m < cut) this.#history.delete(m);
  }

  async readHistory(fromMs: number, untilMs: number, route?: string): Promise<HistoryRow[]> {
    const out: HistoryRow[] = [];
    for (const [m, rows] of this.#history) {
      if (m < fromMs || m > untilMs) continue;
      for (const r of rows.values()) if (route === undefined || r.route === route) out.push(r);
    }
    return out.sort(compareHistoryRows);
  }

  async takeTokens(key: string, rps: number, burst: number, want: number): Promise<TokenGrant> {
    const now = this.#clock();
    const b = this.#buckets.get(key) ?? { tokens: burst, at: now };
    const { grant, tokens } = refill(b.tokens, b.at, now, rps, burst, want);
    this.#buckets.set(key, { tokens, at: now });
    return grant;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.#listeners.clear();
  }
}
