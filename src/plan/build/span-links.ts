// Span links across traces (a message consumer tied to its producer by a
// link, OTel messaging conventions): which span each linked server/consumer
// span points to, and what that makes of the call. Resolved once, in
// PlanBuilder.finish, with an open-addressing table over the links alone (it
// grows with the linked spans, not with all spans) probed once per span, so
// every span of the input can be a link's target. The answer is one Int32Array
// over the spans, made only when some span has a link.
import {
  FLAG_LINKED,
  KIND_CLIENT,
  KIND_CONSUMER,
  KIND_PRODUCER,
  KIND_SERVER,
  type SpanStore,
} from './span-store.ts';

const isServed = (kind: number): boolean => kind === KIND_SERVER || kind === KIND_CONSUMER;
const isCaller = (kind: number): boolean => kind === KIND_CLIENT || kind === KIND_PRODUCER;

/** The calls links make, for walkTrace (docs/plan.md, "Calls"). */
export interface SpanLinks {
  /**
   * By store index: for a client/producer span, the module of the first span linked to it from
   * another module — as if that span were its child, so the caller counts the call, once; for a
   * linked server/consumer span whose linked span is no caller, that span's module; else -1.
   * Empty when no span has a link.
   */
  readonly callModule: Int32Array;
  /** Linked server/consumer spans whose linked span is not in the input. */
  readonly unresolved: number;
}

export const NO_LINKS: SpanLinks = { callModule: new Int32Array(0), unresolved: 0 };

/** Slot of a span id in a table of 2^bits slots (Fibonacci hashing of both halves). */
function slotOf(hi: number, lo: number, bits: number): number {
  return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> (32 - bits);
}

function linkedServedSpans(s: SpanStore): Int32Array {
  let n = 0;
  for (let i = 0; i < s.size; i++) if ((s.flags[i] & FLAG_LINKED) !== 0 && isServed(s.kind[i])) n++;
  const linked = new Int32Array(n);
  n = 0;
  for (let i = 0; i < s.size; i++) {
    if ((s.flags[i] & FLAG_LINKED) !== 0 && isServed(s.kind[i])) linked[n++] = i;
  }
  return linked;
}

/** Per linked span (by position in `linked`): the store index of the span it links to, or -1. */
function linkTargets(s: SpanStore, linked: Int32Array): Int32Array {
  const bits = Math.max(4, Math.ceil(Math.log2(linked.length * 2)));
  const mask = (1 << bits) - 1;
  const table = new Int32Array(1 << bits).fill(-1);
  for (let k = 0; k < linked.length; k++) {
    let slot = slotOf(s.parentHi[linked[k]], s.parentLo[linked[k]], bits);
    while (table[slot] !== -1) slot = (slot + 1) & mask;
    table[slot] = k;
  }
  // The first span with the linked trace and id wins (ids are unique by convention only).
  const target = new Int32Array(linked.length).fill(-1);
  for (let j = 0; j < s.size; j++) {
    const hi = s.idHi[j];
    const lo = s.idLo[j];
    for (let slot = slotOf(hi, lo, bits); table[slot] !== -1; slot = (slot + 1) & mask) {
      const k = table[slot];
      const i = linked[k];
      if (target[k] !== -1 || i === j) continue;
      if (s.parentHi[i] === hi && s.parentLo[i] === lo && s.linkTrace[i] === s.traceOf[j]) {
        target[k] = j;
      }
    }
  }
  return target;
}

/** Call after every span's module is known. */
export function resolveLinks(s: SpanStore): SpanLinks {
  const linked = linkedServedSpans(s);
  if (linked.length === 0) return NO_LINKS;
  const target = linkTargets(s, linked);
  const callModule = new Int32Array(s.size).fill(-1);
  let unresolved = 0;
  for (let k = 0; k < linked.length; k++) {
    const i = linked[k];
    const j = target[k];
    if (j === -1) {
      unresolved++;
      continue;
    }
    const mine = s.module[i];
    const theirs = s.module[j];
    if (mine < 0 || theirs < 0 || theirs === mine) continue;
    if (!isCaller(s.kind[j])) callModule[i] = theirs;
    else if (callModule[j] === -1) callModule[j] = mine;
  }
  return { callModule, unresolved };
}
