// Which side serves a request: the override header first, then the sticky
// key hashed into 10,000 buckets, else a random draw with the same odds.
import type { IncomingHttpHeaders } from 'node:http';
import type { KeyPart, SplitConfig } from '../config/index.ts';

export type Side = 'legacy' | 'candidate';

/** Why a side was chosen, for logs and metrics. */
export type SplitReason = 'override' | 'sticky' | 'random' | 'no-candidate';

export interface SideChoice {
  readonly side: Side;
  readonly reason: SplitReason;
}

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

/**
 * Joins the parts of a composite key. Header values cannot hold NUL (RFC 9110
 * §5.5), so the parts ('a+b', 'c') and ('a', 'b+c') never make the same key.
 */
export const KEY_SEPARATOR = '\u0000';

/** Buckets on the candidate for a weight in percent with two decimals (12.34 → 1234). */
export function candidateBucketsOf(weight: number): number {
  return Math.min(BUCKETS, Math.max(0, Math.round(weight * 100)));
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function fnvByte(h: number, byte: number): number {
  return Math.imul(h ^ byte, FNV_PRIME);
}

/**
 * A bucket in 0..9999 for a sticky key; the same key always lands in the same
 * bucket, in every process and every version, so users keep their side across
 * restarts. FNV-1a 32-bit over the key's UTF-8 bytes (lone surrogates as
 * U+FFFD, like TextEncoder), then murmur3's fmix32 finaliser: FNV's low bits
 * mix poorly and the modulo reads mostly low bits. Changing this moves users.
 */
export function stickyBucket(key: string): number {
  let h = FNV_OFFSET;
  const n = key.length;
  for (let i = 0; i < n; i++) {
    let c = key.charCodeAt(i);
    if (c < 0x80) {
      h = fnvByte(h, c);
    } else if (c < 0x800) {
      h = fnvByte(h, 0xc0 | (c >> 6));
      h = fnvByte(h, 0x80 | (c & 0x3f));
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const low = i + 1 < n ? key.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
          h = fnvByte(h, 0xf0 | (cp >> 18));
          h = fnvByte(h, 0x80 | ((cp >> 12) & 0x3f));
          h = fnvByte(h, 0x80 | ((cp >> 6) & 0x3f));
          h = fnvByte(h, 0x80 | (cp & 0x3f));
          i++;
          continue;
        }
        c = 0xfffd;
      }
      h = fnvByte(h, 0xe0 | (c >> 12));
      h = fnvByte(h, 0x80 | ((c >> 6) & 0x3f));
      h = fnvByte(h, 0x80 | (c & 0x3f));
    }
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % BUCKETS;
}

function isSpace(code: number): boolean {
  return code === 32 || code === 9;
}

/** The named cookie's value from a Cookie header (RFC 6265 §5.4: `a=1; b=2`), first one wins. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  const len = header.length;
  let pos = 0;
  while (pos < len) {
    let semi = header.indexOf(';', pos);
    if (semi === -1) semi = len;
    const eq = header.indexOf('=', pos);
    if (eq !== -1 && eq < semi) {
      let start = pos;
      while (start < eq && isSpace(header.charCodeAt(start))) start++;
      let end = eq;
      while (end > start && isSpace(header.charCodeAt(end - 1))) end--;
      if (end - start === name.length && header.startsWith(name, start)) {
        let vStart = eq + 1;
        let vEnd = semi;
        while (vStart < vEnd && isSpace(header.charCodeAt(vStart))) vStart++;
        while (vEnd > vStart && isSpace(header.charCodeAt(vEnd - 1))) vEnd--;
        // RFC 6265 §4.1.1 allows the value in double quotes.
        if (
          vEnd - vStart >= 2 &&
          header.charCodeAt(vStart) === 34 &&
          header.charCodeAt(vEnd - 1) === 34
        ) {
          vStart++;
          vEnd--;
        }
        return header.slice(vStart, vEnd);
      }
    }
    pos = semi + 1;
  }
  return undefined;
}

/** application/x-www-form-urlencoded decoding: `+` is a space; bad escapes stay as written. */
function decodeQueryComponent(raw: string): string {
  const spaced = raw.indexOf('+') === -1 ? raw : raw.replaceAll('+', ' ');
  if (spaced.indexOf('%') === -1) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/** The first value of the named parameter in a raw query string, decoded. */
export function queryValue(query: string, name: string): string | undefined {
  const len = query.length;
  let pos = query.charCodeAt(0) === 63 ? 1 : 0; // tolerate a leading '?'
  while (pos < len) {
    let amp = query.indexOf('&', pos);
    if (amp === -1) amp = len;
    let eq = query.indexOf('=', pos);
    if (eq === -1 || eq > amp) eq = amp;
    const matches =
      (eq - pos === name.length && query.startsWith(name, pos)) ||
      (hasEscapes(query, pos, eq) && decodeQueryComponent(query.slice(pos, eq)) === name);
    if (matches) return eq < amp ? decodeQueryComponent(query.slice(eq + 1, amp)) : '';
    pos = amp + 1;
  }
  return undefined;
}

function hasEscapes(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 37 || c === 43) return true;
  }
  return false;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (typeof value === 'string') return value;
  return value === undefined ? undefined : value.join(',');
}

function partValue(part: KeyPart, input: SplitInput): string | undefined {
  let value: string | undefined;
  switch (part.kind) {
    case 'header':
      value = headerValue(input.headers, part.name);
      break;
    case 'cookie':
      value = cookieValue(headerValue(input.headers, 'cookie'), part.name);
      break;
    case 'query':
      value = queryValue(input.query, part.name);
      break;
    case 'ip':
      value = input.ip;
      break;
  }
  return value === '' ? undefined : value;
}

/** The sticky key's value for this request, or undefined when any part is missing or empty. */
export function stickyKeyOf(parts: readonly KeyPart[], input: SplitInput): string | undefined {
  if (parts.length === 0) return undefined;
  let key = partValue(parts[0], input);
  for (let i = 1; key !== undefined && i < parts.length; i++) {
    const value = partValue(parts[i], input);
    key = value === undefined ? undefined : key + KEY_SEPARATOR + value;
  }
  return key;
}

/** ASCII case-insensitive equality without allocating; override values are tokens. */
function equalsIgnoreCase(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 65 && x <= 90) x += 32;
    if (y >= 65 && y <= 90) y += 32;
    if (x !== y) return false;
  }
  return true;
}

const CHOICES = {
  noCandidate: Object.freeze({ side: 'legacy', reason: 'no-candidate' }),
  overrideCandidate: Object.freeze({ side: 'candidate', reason: 'override' }),
  overrideLegacy: Object.freeze({ side: 'legacy', reason: 'override' }),
  stickyCandidate: Object.freeze({ side: 'candidate', reason: 'sticky' }),
  stickyLegacy: Object.freeze({ side: 'legacy', reason: 'sticky' }),
  randomCandidate: Object.freeze({ side: 'candidate', reason: 'random' }),
  randomLegacy: Object.freeze({ side: 'legacy', reason: 'random' }),
} as const satisfies Record<string, SideChoice>;

/**
 * The side and why. Returns one of a few frozen objects, so it allocates
 * nothing beyond the sticky key itself.
 */
export function chooseSideWithReason(
  split: SplitConfig,
  hasCandidate: boolean,
  candidateBuckets: number,
  input: SplitInput,
): SideChoice {
  if (!hasCandidate) return CHOICES.noCandidate;
  if (split.overrideHeader !== false) {
    const raw = input.headers[split.overrideHeader];
    const value = typeof raw === 'string' ? raw : raw?.[0];
    if (value !== undefined) {
      if (equalsIgnoreCase(value, split.overrideCandidate)) return CHOICES.overrideCandidate;
      if (equalsIgnoreCase(value, split.overrideLegacy)) return CHOICES.overrideLegacy;
    }
  }
  const key = stickyKeyOf(split.stickyKey, input);
  if (key !== undefined) {
    return stickyBucket(key) < candidateBuckets ? CHOICES.stickyCandidate : CHOICES.stickyLegacy;
  }
  return Math.random() * BUCKETS < candidateBuckets
    ? CHOICES.randomCandidate
    : CHOICES.randomLegacy;
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
  return chooseSideWithReason(split, hasCandidate, candidateBuckets, input).side;
}
