// STUB — being written: override header, sticky key hashed into 10,000 buckets, random when no key.
import type { IncomingHttpHeaders } from 'node:http';
import type { KeyPart, SplitConfig } from '../config/index.ts';

export type Side = 'legacy' | 'candidate';

/** What the split reads of a request. */
export interface SplitInput {
  readonly headers: IncomingHttpHeaders;
  /** The raw query string without the leading `?`, or '' */
  readonly query: string;
  /** The client's address as the listener saw it. */
  readonly ip: string;
}

/** 10,000 buckets: a user is on the candidate when its bucket is below weight × 100. */
export const BUCKETS = 10_000;

/** A bucket in 0..9999 for a sticky key; the same key always lands in the same bucket. */
export function stickyBucket(key: string): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
  return h % BUCKETS;
}

/** The sticky key's value for this request, or undefined when any part is missing. */
export function stickyKeyOf(parts: readonly KeyPart[], input: SplitInput): string | undefined {
  void parts;
  void input;
  return undefined;
}

/**
 * Which side serves this request. `candidateBuckets` is weight × 100 (0..10000);
 * `hasCandidate` false sends everything to legacy.
 */
export function chooseSide(
  split: SplitConfig,
  hasCandidate: boolean,
  candidateBuckets: number,
  input: SplitInput,
): Side {
  if (!hasCandidate) return 'legacy';
  void split;
  return Math.random() * BUCKETS < candidateBuckets ? 'candidate' : 'legacy';
}
