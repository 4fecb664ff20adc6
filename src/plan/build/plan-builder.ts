// Streams spans in (pass `add` as readSpans' onSpan) and turns them into a
// PlanResult: modules, the coupling figures of every pair, stages, data
// stores and warnings. Spans are kept as compact records (span-store.ts);
// the per-trace work waits for `finish`, because a trace's spans may come
// from several files in any order.
import type { ModulesFile } from '../modules/schema.ts';
import type { EntryPoint, PlanResult, PlanWarning } from '../plan-result.ts';
import type { PlanSpan } from '../span.ts';
import type { ReadSummary } from '../traces/read-spans.ts';
import {
  assembleDataStores,
  assembleModules,
  assemblePairs,
  isPresent,
  type ModuleTally,
  type PairTally,
  pairKey,
  type StoreTally,
} from './assemble.ts';
import { type DataTouch, dataTouch, entryPoint, kindCode } from './classify.ts';
import { MICROS_PER_DAY, MIN_DAYS } from './figures.ts';
import { resolveLinks } from './span-links.ts';
import { KIND_CLIENT, KIND_CONSUMER, KIND_PRODUCER, KIND_SERVER, SpanStore } from './span-store.ts';
import { type LinkedTrace, linkTrace, type Transaction, walkTrace } from './trace-walk.ts';
import { planWarnings } from './warnings.ts';

/** What a span that waits for its module keeps until `finish` (see #moduleOf). */
interface Pending {
  readonly service: string;
  readonly serviceId: number;
  readonly kind: number;
  readonly touch: DataTouch;
  readonly store: number;
  readonly entry: Omit<EntryPoint, 'calls'> | undefined;
}

const PENDING = -2;

export class PlanBuilder {
  readonly #file: ModulesFile | undefined;
  readonly #bySelector = new Map<string, string>();
  readonly #declaredStores = new Map<string, string | undefined>();
  /** Services that modules.yaml splits by operation (`service:operation` selectors). */
  readonly #splitServices = new Set<string>();
  /** Spans of split services that match no selector: by span index, until their module is known. */
  readonly #pending = new Map<number, Pending>();
  readonly #pendingTraces = new Set<number>();
  readonly #spans = new SpanStore();
  readonly #modules: ModuleTally[] = [];
  readonly #moduleIds = new Map<string, number>();
  readonly #stores: StoreTally[] = [];
  readonly #storeIds = new Map<string, number>();
  readonly #serviceIds = new Map<string, number>();
  /** Per service id: the module of its first served span, or -1 when it serves nothing. */
  readonly #servedBy: number[] = [];
  #minStartUs = Number.POSITIVE_INFINITY;
  #maxEndUs = Number.NEGATIVE_INFINITY;

  constructor(modules?: ModulesFile) {
    this.#file = modules;
    for (const [name, selectors] of Object.entries(modules?.modules ?? {})) {
      this.#moduleId(name);
      for (const s of selectors) {
        this.#bySelector.set(s, name);
        const colon = s.indexOf(':');
        if (colon > 0) this.#splitServices.add(s.slice(0, colon));
      }
    }
    for (const d of modules?.dataStores ?? []) this.#declaredStores.set(d.name, d.kind);
  }

  #moduleId(name: string): number {
    let id = this.#moduleIds.get(name);
    if (id === undefined) {
      id = this.#modules.length;
      this.#moduleIds.set(name, id);
      this.#modules.push({
        name,
        services: new Set(),
        traffic: 0,
        out: 0,
        entries: new Map(),
        stores: new Set(),
        tables: new Set(),
        columns: new Set(),
      });
    }
    return id;
  }

  #serviceId(name: string): number {
    let id = this.#serviceIds.get(name);
    if (id === undefined) {
      id = this.#servedBy.length;
      this.#serviceIds.set(name, id);
      this.#servedBy.push(-1);
    }
    return id;
  }

  #storeId(name: string, source: string, kind: string | undefined): number {
    let id = this.#storeIds.get(name);
    if (id === undefined) {
      id = this.#stores.length;
      this.#storeIds.set(name, id);
      this.#stores.push({ name, source, kind, modules: new Set(), tables: new Set() });
    }
    return id;
  }

  /**
   * `service:operation` first, then `service`; a declared data store is no
   * module (-1). A span of a service split by operation that matches no
   * selector (a database call under `orders:GET /orders`) belongs to the
   * module of its nearest ancestor in the same service: PENDING until
   * `finish`, when the trace's parent links are known.
   */
  #moduleOf(span: PlanSpan): { id: number; selector: string } {
    const op = `${span.service}:${span.name}`;
    const byOp = this.#bySelector.get(op);
    if (byOp !== undefined) return { id: this.#moduleId(byOp), selector: op };
    const byService = this.#bySelector.get(span.service);
    if (byService !== undefined) return { id: this.#moduleId(byService), selector: span.service };
    if (this.#declaredStores.has(span.service)) return { id: -1, selector: span.service };
    if (this.#splitServices.has(span.service)) return { id: PENDING, selector: span.service };
    return { id: this.#moduleId(span.service), selector: span.service };
  }

  /** The store a span touches: a declared one when its name matches, else what the attributes say. */
  #storeOf(span: PlanSpan, touch: DataTouch): number {
    // A server span's remote endpoint is its caller, never a store it uses.
    const outgoing = span.kind !== 'server' && span.kind !== 'consumer';
    const candidates = [outgoing ? span.remoteService : undefined, touch.store, ...touch.aliases];
    for (const c of candidates) {
      if (c !== undefined && this.#declaredStores.has(c)) {
        return this.#storeId(c, 'modules.yaml', this.#declaredStores.get(c));
      }
    }
    if (touch.store === undefined || touch.source === undefined) return -1;
    return this.#storeId(touch.store, touch.source, undefined);
  }

  add(span: PlanSpan): void {
    const { id: module, selector } = this.#moduleOf(span);
    const kind = kindCode(span);
    const touch = dataTouch(span);
    const store = this.#storeOf(span, touch);
    const service = this.#serviceId(span.service);
    const remote = span.remoteService !== undefined ? this.#serviceId(span.remoteService) : -1;
    this.#minStartUs = Math.min(this.#minStartUs, span.startUs);
    this.#maxEndUs = Math.max(this.#maxEndUs, span.startUs + span.durationUs);
    if (store >= 0) for (const t of touch.tables) this.#stores[store].tables.add(t);
    const entry = kind === KIND_SERVER ? entryPoint(span) : undefined;
    const index = this.#spans.push(
      span.traceId,
      span.spanId,
      span.parentId,
      module,
      service,
      kind,
      touch.flags,
      remote,
      store,
      span.link,
    );
    if (module === PENDING) {
      this.#pending.set(index, {
        service: span.service,
        serviceId: service,
        kind,
        touch,
        store,
        entry,
      });
      this.#pendingTraces.add(this.#spans.traceOf[index]);
    } else if (module >= 0) {
      this.#account(module, selector, service, kind, touch, store, entry);
    }
  }

  /** Adds a span's traffic, entry point and data to its module. */
  #account(
    module: number,
    selector: string | undefined,
    service: number,
    kind: number,
    touch: DataTouch,
    store: number,
    entry: Omit<EntryPoint, 'calls'> | undefined,
  ): void {
    const m = this.#modules[module];
    if (selector !== undefined) m.services.add(selector);
    if (store >= 0) {
      m.stores.add(store);
      this.#stores[store].modules.add(module);
    }
    for (const t of touch.tables) m.tables.add(t);
    for (const c of touch.columns) m.columns.add(c);
    if (kind === KIND_SERVER || kind === KIND_CONSUMER) {
      m.traffic++;
      if (this.#servedBy[service] === -1) this.#servedBy[service] = module;
    }
    if (entry) {
      const seen = m.entries.get(entry.name);
      if (seen) seen.calls++;
      else m.entries.set(entry.name, { ...entry, calls: 1 });
    }
  }

  /** Pending spans take the module of their nearest same-service ancestor, else their service's name. */
  #resolve(trace: LinkedTrace): void {
    const s = this.#spans;
    const { spans, parent } = trace;
    for (let k = 0; k < spans.length; k++) {
      const i = spans[k];
      const pending = this.#pending.get(i);
      if (!pending) continue;
      // Pending ancestors are skipped: they resolve to the same ancestor's module.
      let module = -1;
      for (let p = parent[k]; p !== -1 && module < 0; p = parent[p]) {
        if (s.service[spans[p]] !== pending.serviceId) break;
        if (s.module[spans[p]] >= 0) module = s.module[spans[p]];
      }
      // An inherited module keeps its selectors; one made for the service lists the service.
      const selector = module < 0 ? pending.service : undefined;
      if (module < 0) module = this.#moduleId(pending.service);
      s.module[i] = module;
      const { serviceId, kind, touch, store, entry } = pending;
      this.#account(module, selector, serviceId, kind, touch, store, entry);
    }
  }

  /** Once, after the last span: links each trace (and spans linked across traces) and computes the result. */
  finish(summary: ReadSummary): PlanResult {
    const spans = this.#spans;
    for (const t of this.#pendingTraces) this.#resolve(linkTrace(spans, spans.traceHead[t]));
    this.#pending.clear();
    this.#pendingTraces.clear();
    const remoteModule = Int32Array.from(this.#servedBy);
    const pairs = new Map<number, PairTally>();
    const pairOf = (x: number, y: number): PairTally => {
      const key = pairKey(x, y);
      let p = pairs.get(key);
      if (!p) {
        p = { calls: 0, transactions: 0, twoPhase: 0, hops: 0 };
        pairs.set(key, p);
      }
      return p;
    };
    const sink = {
      call: (from: number, to: number): void => {
        this.#modules[from].out++;
        pairOf(from, to).calls++;
      },
      transaction: (tx: Transaction): void => {
        const ms = tx.modules;
        for (let i = 0; i < ms.length; i++) {
          for (let j = i + 1; j < ms.length; j++) {
            const p = pairOf(ms[i], ms[j]);
            p.transactions++;
            if (tx.twoPhase) p.twoPhase++;
            p.hops = Math.max(p.hops, tx.hops);
          }
        }
      },
    };
    const links = resolveLinks(spans);
    for (let t = 0; t < spans.traceNumbers; t++)
      walkTrace(spans, linkTrace(spans, spans.traceHead[t]), remoteModule, links, sink);
    this.#remoteEndpointStores(remoteModule);

    const days = Number.isFinite(this.#minStartUs)
      ? Math.max((this.#maxEndUs - this.#minStartUs) / MICROS_PER_DAY, MIN_DAYS)
      : MIN_DAYS;
    const planPairs = assemblePairs(this.#modules, this.#stores, pairs, this.#file, days);
    const result: PlanResult = {
      modules: assembleModules(this.#modules, planPairs, this.#file?.cost),
      pairs: planPairs,
      dataStores: assembleDataStores(this.#stores, this.#modules),
      warnings: [] as PlanWarning[],
      traces: {
        spans: spans.size,
        traces: spans.traces,
        days,
        from: Number.isFinite(this.#minStartUs)
          ? new Date(this.#minStartUs / 1000).toISOString()
          : undefined,
        until: Number.isFinite(this.#maxEndUs)
          ? new Date(this.#maxEndUs / 1000).toISOString()
          : undefined,
      },
    };
    const names = new Set(this.#modules.filter(isPresent).map((m) => m.name));
    return {
      ...result,
      warnings: planWarnings(result, summary, this.#file, names, links.unresolved),
    };
  }

  /** A client span to a service that serves nothing: that service is a data store (Zipkin remote endpoint). */
  #remoteEndpointStores(remoteModule: Int32Array): void {
    const s = this.#spans;
    const serviceNames = [...this.#serviceIds.keys()];
    for (let i = 0; i < s.size; i++) {
      const r = s.remote[i];
      const caller = s.kind[i] === KIND_CLIENT || s.kind[i] === KIND_PRODUCER;
      if (!caller || r < 0 || s.store[i] >= 0 || remoteModule[r] >= 0 || s.module[i] < 0) continue;
      const store = this.#storeId(serviceNames[r], 'remote endpoint', undefined);
      this.#stores[store].modules.add(s.module[i]);
      this.#modules[s.module[i]].stores.add(store);
    }
  }
}
