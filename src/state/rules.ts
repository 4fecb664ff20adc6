// Rules every fleet implementation keeps the same way (Memory and Local run
// these; Redis runs the same arithmetic in its Lua scripts, redis/scripts.ts).
import type { TokenGrant } from './fleet.ts';

/** Changes the feed keeps at least; an instance further behind reloads everything. */
export const FEED_KEEP = 1000;

/**
 * The shared token bucket: `burst` tokens of capacity, refilled at `rps` a
 * second from the time of the last take (the store's clock), starting full.
 * Takes up to `want` whole tokens.
 */
export function refill(
  tokens: number,
  at: number,
  now: number,
  rps: number,
  burst: number,
  want: number,
): { grant: TokenGrant; tokens: number } {
  const level = Math.min(burst, tokens + (Math.max(0, now - at) * rps) / 1000);
  const granted = Math.max(0, Math.min(want, Math.floor(level)));
  const left = level - granted;
  return {
    tokens: left,
    grant: {
      granted,
      remaining: Math.floor(left),
      fullInMs: Math.ceil(((burst - left) * 1000) / rps),
      nextInMs: left >= 1 ? 0 : Math.ceil(((1 - left) * 1000) / rps),
    },
  };
}
