// One trace at a time, once every span is in: which spans call which module
// (a cross-module call is counted once, on the caller's client span, or on
// the server span when its parent is no client span; span links as
// span-links.ts resolved them), and which transactions
// the trace holds with the module boundaries crossed inside each
// (docs/plan.md, "How the figures are computed").

import type { SpanLinks } from './span-links.ts';
import {
  FLAG_BEGIN,
  FLAG_COMMIT,
  FLAG_HAS_PARENT,
  FLAG_TWO_PHASE,
  FLAG_TX_MARK,
  FLAG_WRITE,
  KIND_CLIENT,
  KIND_CONSUMER,
  KIND_PRODUCER,
  KIND_SERVER,
  type SpanStore,
} from './span-store.ts';

export interface Transaction {
  /** Modules with a span in it, or called from it. */
  readonly modules: readonly number[];
  /** Cross-module calls made inside it: the module boundaries it crosses. */
  readonly hops: number;
  /** ≥ 2 modules write in it and a span prepares a two-phase commit (XA / PREPARE TRANSACTION). */
  readonly twoPhase: boolean;
}

export interface TraceSink {
  call(from: number, to: number): void;
  transaction(tx: Transaction): void;
}

const isCaller = (kind: number): boolean => kind === KIND_CLIENT || kind === KIND_PRODUCER;
const isServed = (kind: number): boolean => kind === KIND_SERVER || kind === KIND_CONSUMER;

/**
 * @param remoteModule module id of each service id when that service is a module, else -1
 */
/** One trace's spans (store indices, arrival order) with parent and child links by position. */
export interface LinkedTrace {
  readonly spans: readonly number[];
  readonly parent: Int32Array;
  readonly children: readonly (readonly number[])[];
}

export function linkTrace(s: SpanStore, head: number): LinkedTrace {
  const spans: number[] = [];
  for (let i = head; i !== -1; i = s.next[i]) spans.push(i);
  spans.reverse(); // arrival order, so results do not depend on the linked list
  const n = spans.length;
  const local = new Map<string, number>();
  for (let k = 0; k < n; k++) local.set(`${s.idHi[spans[k]]}:${s.idLo[spans[k]]}`, k);
  const parent = new Int32Array(n).fill(-1);
  const children: number[][] = Array.from({ length: n }, () => []);
  for (let k = 0; k < n; k++) {
    const i = spans[k];
    if ((s.flags[i] & FLAG_HAS_PARENT) === 0) continue;
    const p = local.get(`${s.parentHi[i]}:${s.parentLo[i]}`);
    if (p !== undefined && p !== k) {
      parent[k] = p;
      children[p].push(k);
    }
  }
  return { spans, parent, children };
}

/**
 * @param remoteModule module id of each service id when that service is a module, else -1
 */
export function walkTrace(
  s: SpanStore,
  { spans, parent, children }: LinkedTrace,
  remoteModule: Int32Array,
  links: SpanLinks,
  sink: TraceSink,
): void {
  const n = spans.length;
  const { callModule } = links;
  const linkedCall = (i: number): number => (i < callModule.length ? callModule[i] : -1);
  // The call each span stands for: callTo[k] ≥ 0 when span k's module calls callTo[k].
  const callFrom = new Int32Array(n).fill(-1);
  const callTo = new Int32Array(n).fill(-1);
  for (let k = 0; k < n; k++) {
    const i = spans[k];
    const mine = s.module[i];
    if (mine < 0) continue;
    if (isCaller(s.kind[i])) {
      let target = -1;
      for (const c of children[k]) {
        const m = s.module[spans[c]];
        if (isServed(s.kind[spans[c]]) && m >= 0 && m !== mine) {
          target = m;
          break;
        }
      }
      // A span of another trace linked to this one stands for a child (no transaction hop:
      // the call leaves this trace).
      const linked = target === -1 ? linkedCall(i) : -1;
      if (linked >= 0) sink.call(mine, linked);
      else if (target === -1 && s.remote[i] >= 0) target = remoteModule[s.remote[i]];
      if (target >= 0 && target !== mine) {
        callFrom[k] = mine;
        callTo[k] = target;
      }
    } else if (isServed(s.kind[i]) && parent[k] >= 0) {
      const p = spans[parent[k]];
      const theirs = s.module[p];
      if (!isCaller(s.kind[p]) && theirs >= 0 && theirs !== mine) {
        callFrom[k] = theirs;
        callTo[k] = mine;
      }
    } else if (isServed(s.kind[i])) {
      // Linked to a span that is no caller: that span's module calls, from outside this trace.
      const theirs = linkedCall(i);
      if (theirs >= 0) sink.call(theirs, mine);
    }
    if (callTo[k] >= 0) sink.call(callFrom[k], callTo[k]);
  }

  // A trace that writes anywhere is one transaction (it holds any marked one);
  // otherwise each outermost marked span or BEGIN…COMMIT parent is one.
  let writes = false;
  for (const i of spans) if ((s.flags[i] & FLAG_WRITE) !== 0) writes = true;
  const roots: number[] = [];
  if (writes) {
    for (let k = 0; k < n; k++) if (parent[k] === -1) roots.push(k);
    sink.transaction(collect(s, spans, children, callFrom, callTo, roots, true));
    return;
  }
  const isRoot = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    if ((s.flags[spans[k]] & FLAG_TX_MARK) !== 0) isRoot[k] = 1;
    let begins = false;
    let commits = false;
    for (const c of children[k]) {
      begins ||= (s.flags[spans[c]] & FLAG_BEGIN) !== 0;
      commits ||= (s.flags[spans[c]] & FLAG_COMMIT) !== 0;
    }
    if (begins && commits) isRoot[k] = 1;
  }
  for (let k = 0; k < n; k++) {
    if (isRoot[k] === 0) continue;
    let outer = false;
    for (let p = parent[k]; p !== -1 && !outer; p = parent[p]) outer = isRoot[p] === 1;
    if (!outer) sink.transaction(collect(s, spans, children, callFrom, callTo, [k], false));
  }
}

function collect(
  s: SpanStore,
  spans: readonly number[],
  children: readonly (readonly number[])[],
  callFrom: Int32Array,
  callTo: Int32Array,
  roots: readonly number[],
  wholeTrace: boolean,
): Transaction {
  const modules = new Set<number>();
  const writers = new Set<number>();
  let hops = 0;
  let prepared = false;
  const stack = [...roots];
  while (stack.length > 0) {
    const k = stack.pop() as number;
    const i = spans[k];
    const m = s.module[i];
    if (m >= 0) modules.add(m);
    if (m >= 0 && (s.flags[i] & FLAG_WRITE) !== 0) writers.add(m);
    if ((s.flags[i] & FLAG_TWO_PHASE) !== 0) prepared = true;
    // A served span's call comes from its parent: outside a subtree rooted at it.
    const fromOutside = !wholeTrace && roots.includes(k) && callFrom[k] >= 0 && callFrom[k] !== m;
    if (callTo[k] >= 0 && !fromOutside) {
      hops++;
      modules.add(callTo[k]);
    }
    for (const c of children[k]) stack.push(c);
  }
  return { modules: [...modules], hops, twoPhase: prepared && writers.size >= 2 };
}
