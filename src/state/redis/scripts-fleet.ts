// The lease, instance, figure and token-bucket steps, each ONE Lua script
// timed by `redis.call('TIME')`: the store's clock is the only one every
// instance agrees on (instance clocks drift, and a paused process's clock
// says nothing about what happened meanwhile).
//
// Lease (client-go's leaderelection has the timings; what it lacks, and we
// add, is the fencing epoch): `{prefix}:lease:<name>` holds holder, epoch and
// exp (ms, store clock) and PEXPIREs with the lease, so an expired lease is
// simply absent; `{prefix}:epoch:<name>` counts epochs and never expires, so
// an epoch is never handed out twice (and it starts at the store's floor,
// see scripts-store.ts, so not even across a store that lost its data).
import { Script } from './script.ts';
import { PRELUDE } from './scripts-store.ts';

/** ARGV: name, holder, ttl ms. Returns {epoch, expiresAt} or nil when another holds it. */
export const ACQUIRE = new Script(
  'acquire',
  `${PRELUDE}
current_version()
local key = base .. 'lease:' .. ARGV[1]
local now = now_ms()
local cur = redis.call('HMGET', key, 'holder', 'epoch', 'exp')
local live = cur[1] and tonumber(cur[3]) > now
if live and cur[1] ~= ARGV[2] then return false end
local epoch
if live then
  epoch = tonumber(cur[2])
else
  local counter = base .. 'epoch:' .. ARGV[1]
  if redis.call('EXISTS', counter) == 0 then
    redis.call('SET', counter, redis.call('GET', base .. 'floor'))
  end
  epoch = redis.call('INCR', counter)
end
local exp = now + tonumber(ARGV[3])
redis.call('HSET', key, 'holder', ARGV[2], 'epoch', int(epoch), 'exp', int(exp))
redis.call('PEXPIRE', key, ARGV[3])
return {epoch, exp}`,
);

/** ARGV: name, holder, epoch, ttl ms. Returns 1 when extended, 0 when the lease was lost. */
export const RENEW = new Script(
  'renew',
  `${PRELUDE}
local key = base .. 'lease:' .. ARGV[1]
local now = now_ms()
local cur = redis.call('HMGET', key, 'holder', 'epoch', 'exp')
if not cur[1] or cur[1] ~= ARGV[2] or tonumber(cur[2]) ~= tonumber(ARGV[3])
  or tonumber(cur[3]) <= now then
  return 0
end
redis.call('HSET', key, 'exp', int(now + tonumber(ARGV[4])))
redis.call('PEXPIRE', key, ARGV[4])
return 1`,
);

/** ARGV: name, holder, epoch. Deletes the lease only if still held so. */
export const RELEASE = new Script(
  'release',
  `${PRELUDE}
local key = base .. 'lease:' .. ARGV[1]
local cur = redis.call('HMGET', key, 'holder', 'epoch')
if cur[1] == ARGV[2] and tonumber(cur[2]) == tonumber(ARGV[3]) then redis.call('DEL', key) end
return 1`,
);

/** ARGV: name. Returns {holder, epoch, expiresAt} or nil. */
export const HOLDER = new Script(
  'holder',
  `${PRELUDE}
local cur = redis.call('HMGET', base .. 'lease:' .. ARGV[1], 'holder', 'epoch', 'exp')
if not cur[1] or tonumber(cur[3]) <= now_ms() then return false end
return {cur[1], tonumber(cur[2]), tonumber(cur[3])}`,
);

/**
 * Instances: `{prefix}:inst` maps id → "<lastSeen ms>:<info JSON>",
 * `{prefix}:alive` scores each id with the time it is dropped.
 * ARGV: id, info JSON, ttl ms.
 */
export const HEARTBEAT = new Script(
  'heartbeat',
  `${PRELUDE}
local now = now_ms()
redis.call('HSET', base .. 'inst', ARGV[1], int(now) .. ':' .. ARGV[2])
redis.call('ZADD', base .. 'alive', int(now + tonumber(ARGV[3])), ARGV[1])
return 1`,
);

/** Drops the instances past their ttl, returns the rest as HGETALL's flat list. */
export const INSTANCES = new Script(
  'instances',
  `${PRELUDE}
local now = int(now_ms())
local gone = redis.call('ZRANGEBYSCORE', base .. 'alive', '-inf', now)
for _, id in ipairs(gone) do redis.call('HDEL', base .. 'inst', id) end
redis.call('ZREMRANGEBYSCORE', base .. 'alive', '-inf', now)
return redis.call('HGETALL', base .. 'inst')`,
);

/** ARGV: id. */
export const LEAVE = new Script(
  'leave',
  `${PRELUDE}
redis.call('HDEL', base .. 'inst', ARGV[1])
redis.call('ZREM', base .. 'alive', ARGV[1])
return 1`,
);

/**
 * Figures: `{prefix:figures}:<second>` maps instance → payload and expires
 * (EXPIREAT, the store's clock) after the retention; `{prefix:figures}:index`
 * lists the seconds that have some, so a range read touches only those.
 * KEYS[1] = the index. ARGV: second, instance, payload, retain seconds.
 */
export const PUBLISH_FIGURES = new Script(
  'publishFigures',
  `local base = string.sub(KEYS[1], 1, -6)
local now = tonumber(redis.call('TIME')[1])
local second, retain = tonumber(ARGV[1]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. string.format('%d', now - retain))
if second < now - retain then return 0 end
local key = base .. ARGV[1]
redis.call('HSET', key, ARGV[2], ARGV[3])
redis.call('EXPIREAT', key, string.format('%d', second + retain + 1))
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[1])
return 1`,
);

/** KEYS[1] = the index. ARGV: from, to (seconds). Returns (second, instance, payload)… */
export const READ_FIGURES = new Script(
  'readFigures',
  `local base = string.sub(KEYS[1], 1, -6)
local out = {}
for _, s in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[2])) do
  local h = redis.call('HGETALL', base .. s)
  for j = 1, #h, 2 do
    out[#out + 1] = s
    out[#out + 1] = h[j]
    out[#out + 1] = h[j + 1]
  end
end
return out`,
);

/**
 * The shared token bucket, the arithmetic of rules.ts `refill` (keep the two
 * alike): capacity `burst`, refilled at `rps` a second from the last take,
 * starting full; the time is Redis's, in ms with µs. The key expires once the
 * bucket would be full again: an absent bucket is a full one.
 * KEYS[1] = the bucket. ARGV: rps, burst, want.
 * Returns {granted, remaining, fullInMs, nextInMs}.
 */
export const TAKE_TOKENS = new Script(
  'takeTokens',
  `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local rps, burst, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
local level = math.min(burst, tokens + math.max(0, now - at) * rps / 1000)
local granted = math.max(0, math.min(want, math.floor(level)))
local left = level - granted
local full_in = math.ceil((burst - left) * 1000 / rps)
local next_in = 0
if left < 1 then next_in = math.ceil((1 - left) * 1000 / rps) end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', left), 'at', string.format('%.3f', now))
redis.call('PEXPIRE', KEYS[1], full_in + 1000)
return {granted, math.floor(left), full_in, next_in}`,
);
