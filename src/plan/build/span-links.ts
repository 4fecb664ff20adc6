// Span links across traces (a message consumer tied to its producer by a
// link, OTel messaging conventions): which span each linked server/consumer
// span points to, and what that makes of the call. Resolved once, in
// PlanBuilder.finish, with an open-addressing table over the links alone —
// memory grows with the linked spans, not with all spans, and is nothing when
// no span has a link. Every span of the input can be a link's target.
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

/** The calls links make, by store index, for walkTrace (docs/plan.md, "Calls"). */
export interface SpanLinks {
  /**
   * A client/producer span → the module of the first span linked to it in another module: as if
   * that span were its child (the caller then counts the call, once).
   */
  readonly childModule: ReadonlyMap<number, number>;
  /** A linked server/consumer span → the module of the span it links to when that is no caller. */
  readonly parentModule: ReadonlyMap<number, number>;
  /** Linked server/consumer spans whose linked span is not in the input. */
  readonly unresolved: number;
}

export const NO_LINKS: SpanLinks = {
  childModule: new Map(),
  parentModule: new Map(),
  unresolved: 0,
};

/** Slot of a span id in a table of 2^bits slots (Fibonacci hashing of both halves). */
function slotOf(hi: number, lo: number, bits: number): number {
  return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> (32 - bits);
}

/** Call after every span's module is known. */
export function resolveLinks(s: SpanStore): SpanLinks {
  const linked: number[] = [];
  for (let i = 0; i < s.size; i++) {
    if ((s.flags[i] & FLAG_LINKED) !== 0 && isServed(s.kind[i])) linked.push(i);
  }
  if (linked.length === 0) return NO_LINKS;
  const bits = Math.max(4, Math.ceil(Math.log2(linked.length * 2)));
  const mask = (1 << bits) - 1;
  const table = new Int32Array(1 << bits).fill(-1);
  for (const i of linked) {
    let slot = slotOf(s.parentHi[i], s.parentLo[i], bits);
    while (table[slot] !== -1) slot = (slot + 1) & mask;
    table[slot] = i;
  }
  // linked span → the span it links to; the first span with that trace and id wins.
  const target = new Map<number, number>();
  for (let j = 0; j < s.size; j++) {
    for (
      let slot = slotOf(s.idHi[j], s.idLo[j], bits);
      table[slot] !== -1;
      slot = (slot + 1) & mask
    ) {
      const i = table[slot];
      if (
        s.parentHi[i] === s.idHi[j] &&
        s.parentLo[i] === s.idLo[j] &&
        s.linkTrace[i] === s.traceOf[j] &&
        i !== j &&
        !target.has(i)
      ) {
        target.set(i, j);
      }
    }
  }
  const childModule = new Map<number, number>();
  const parentModule = new Map<number, number>();
  for (const i of linked) {
    const j = target.get(i);
    const mine = s.module[i];
    if (j === undefined || mine < 0) continue;
    const theirs = s.module[j];
    if (theirs < 0 || theirs === mine) continue;
    if (isCaller(s.kind[j])) {
      if (!childModule.has(j)) childModule.set(j, mine);
    } else {
      parentModule.set(i, theirs);
    }
  }
  return { childModule, parentModule, unresolved: linked.length - target.size };
}
