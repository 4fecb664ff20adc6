// One second of a window as a short string, for the fleet store: each
// instance publishes its seconds, the leader decodes and merges them
// (fleet-window.ts). Round trip exact: the decoded slot merges to the same
// counts, bins and max as the histogram it was read from.
//
// Bytes, then base64url (no padding, nothing to escape inside JSON):
//   byClass[0..4]  maxUnits  { gap  length  count × length }*
// every number an unsigned LEB128 varint. The histogram is written as runs of
// consecutive non-zero bins: `gap` is the distance from the end of the
// previous run (from bin 0 for the first), `length` the run's bins. Latencies
// cluster, so most bins sit in runs and cost their count's byte alone; a
// count under 128 is one byte. Measured in docs/decisions.md, "Fleet figures
// (issue 11)".
import { CLASSES, FIRST_BIN, LAST_BIN, latencyBinIndex, MAX_UNITS } from './window-histogram.ts';
import type { WindowSlot } from './window-merge.ts';

/** Longer than any slot we write (≈ 2,300 bins × 6 bytes, base64): refused before decoding. */
const MAX_TEXT = 32_768;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const MAX_COUNT = 0xffff_ffff;
/**
 * Where encodeWindowSlot writes (one thread: shared), sized for the worst
 * slot: 8 bytes per class and the max, and per bin a run header (2 + 2) and
 * a count (5).
 */
const SCRATCH = Buffer.alloc(8 * (CLASSES + 1) + (LAST_BIN + 1) * 9);

/** Appends `value` (a non-negative safe integer) as LEB128 at `at`; returns the next position. */
function writeVarint(bytes: Uint8Array, at: number, value: number): number {
  let v = value;
  // Division, not >>>: requests in a second may in principle pass 2^32.
  while (v >= 0x80) {
    bytes[at++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  bytes[at++] = v;
  return at;
}

/** The encoded form of `slot`; `slot` must hold requests (SlidingWindow.slotAt never gives an empty one). */
export function encodeWindowSlot(slot: WindowSlot): string {
  const { bins, counts } = slot;
  const bytes = SCRATCH;
  let at = 0;
  for (let c = 0; c < CLASSES; c++) at = writeVarint(bytes, at, slot.byClass[c]);
  at = writeVarint(bytes, at, slot.maxUnits);
  let next = 0;
  let i = 0;
  while (i < bins.length) {
    let end = i + 1;
    while (end < bins.length && bins[end] === bins[end - 1] + 1) end++;
    at = writeVarint(bytes, at, bins[i] - next);
    at = writeVarint(bytes, at, end - i);
    for (let k = i; k < end; k++) at = writeVarint(bytes, at, counts[k]);
    next = bins[end - 1] + 1;
    i = end;
  }
  return bytes.toString('base64url', 0, at);
}

/** Reads LEB128 varints from a byte array; NaN once the input is bad, and from then on. */
class VarintReader {
  readonly #bytes: Uint8Array;
  #at = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  get done(): boolean {
    return this.#at >= this.#bytes.length;
  }

  /** The next number, or NaN when the bytes end inside it or it passes 2^53. */
  next(): number {
    const bytes = this.#bytes;
    let value = 0;
    let scale = 1;
    while (this.#at < bytes.length) {
      const byte = bytes[this.#at++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return Number.isSafeInteger(value) ? value : Number.NaN;
      scale *= 0x80;
      if (scale > 2 ** 56) break;
    }
    this.#at = bytes.length;
    return Number.NaN;
  }
}

/**
 * The slot `text` encodes, or undefined when it is not one this version
 * wrote: bad characters, truncated, bins out of range or out of order, or
 * counts that disagree with each other (bins vs classes, max vs top bin).
 * Never throws: the text comes from another process, through a store.
 */
export function decodeWindowSlot(text: string): WindowSlot | undefined {
  if (typeof text !== 'string' || text.length > MAX_TEXT || text.length % 4 === 1) return undefined;
  if (!BASE64URL.test(text)) return undefined;
  const reader = new VarintReader(Buffer.from(text, 'base64url'));
  const byClass: [number, number, number, number, number] = [0, 0, 0, 0, 0];
  let requests = 0;
  for (let c = 0; c < CLASSES; c++) {
    byClass[c] = reader.next();
    requests += byClass[c];
  }
  const maxUnits = reader.next();
  // NaN fails every comparison, so a bad varint above ends here too.
  if (!(requests > 0 && Number.isSafeInteger(requests))) return undefined;
  if (!(maxUnits >= 1 && maxUnits <= MAX_UNITS)) return undefined;
  const bins: number[] = [];
  const counts: number[] = [];
  let binned = 0;
  let next = 0;
  while (!reader.done) {
    const start = next + reader.next();
    const length = reader.next();
    if (!(start >= FIRST_BIN && length >= 1 && start + length - 1 <= LAST_BIN)) return undefined;
    for (let k = 0; k < length; k++) {
      const count = reader.next();
      if (!(count >= 1 && count <= MAX_COUNT)) return undefined;
      bins.push(start + k);
      counts.push(count);
      binned += count;
    }
    next = start + length;
  }
  // Every request is in one class and one bin; the max is in the top bin.
  if (binned !== requests || bins.at(-1) !== latencyBinIndex(maxUnits)) return undefined;
  return { byClass, maxUnits, bins: Uint16Array.from(bins), counts: Uint32Array.from(counts) };
}
