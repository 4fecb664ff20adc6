// The versioned store's atomic steps, each ONE Lua script (Redis runs a
// script alone: nothing else reads or writes between its first and last
// command), so a commit's checks and writes, the version bump, the feed
// entry and the hint cannot interleave with another instance's.
//
// Keys, all under the `{prefix}` hash tag (keys.ts says why), built from
// KEYS[1] = `{prefix}:v`:
//   {prefix}:v             the store's version (an integer)
//   {prefix}:floor         the feed reaches back to changes after this version
//   {prefix}:feed          sorted set: score = version, member = JSON
//                          [version, index in the commit, ns, key, value text or false]
//   {prefix}:kv:<ns>       hash: key → "<version>:<value JSON>"
//   {prefix}:log:<ns>      sorted set: score = seq, member = "<seq>:<value JSON>"
//   {prefix}:logn:<ns>     the log's next seq
//   {prefix}:lease:<name>  hash: holder, epoch, exp (ms, store clock); PEXPIREs with it
//   {prefix}:epoch:<name>  the lease's last epoch (never expires, never reused)
//   {prefix}:inst / :alive instances (scripts-fleet.ts)
// Values travel as the JSON text the caller made, never decoded in Lua
// (cjson would turn [] into {} and round big numbers).
import { Script } from './script.ts';

/**
 * Shared head of the versioned-state scripts.
 *
 * Why versions start at the store's creation time: when Redis loses its data
 * (restarted without persistence, a failover to an empty replica) the
 * version would restart at 0, and an instance at version 57 that polls only
 * after the new store has passed 57 would take the new changes as a
 * continuation and never reload. Starting a new store at its creation time
 * in ms (by Redis's clock) puts every version of the new store above every
 * version of an older one (as long as the old one made fewer than 1,000
 * commits a second over its life), and the floor makes an older version ask
 * for a reload. The same floor seeds the lease epochs, so an epoch from a
 * lost store is never handed out again (fencing holds across the loss).
 * Numbers stay below 10^14 so Lua's %.14g prints them exactly; `int` is used
 * anyway wherever a number becomes a string.
 */
export const PRELUDE = `
local base = string.sub(KEYS[1], 1, -2)
local function int(n) return string.format('%d', n) end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function current_version()
  local v = redis.call('GET', KEYS[1])
  if v then return tonumber(v) end
  local start = int(now_ms())
  redis.call('SET', KEYS[1], start)
  redis.call('SET', base .. 'floor', start)
  return tonumber(start)
end
`;

export const VERSION = new Script('version', `${PRELUDE}\nreturn current_version()`);

/**
 * ARGV: keep (feed entries kept), lease name ('' for none), lease epoch,
 * E, then E × (ns, key, expected version), then O, then O × (op, ns,
 * key-or-keep, value text). Returns {1, version, seq…} or {0, reason}.
 */
export const COMMIT = new Script(
  'commit',
  `${PRELUDE}
current_version()
local keep = tonumber(ARGV[1])
if ARGV[2] ~= '' then
  local l = redis.call('HMGET', base .. 'lease:' .. ARGV[2], 'epoch', 'exp')
  if not l[1] or tonumber(l[1]) ~= tonumber(ARGV[3]) or tonumber(l[2]) <= now_ms() then
    return {0, 'fenced'}
  end
end
local i = 5
for _ = 1, tonumber(ARGV[4]) do
  local cur = redis.call('HGET', base .. 'kv:' .. ARGV[i], ARGV[i + 1])
  local have = cur and tonumber(string.match(cur, '^(%d+):')) or 0
  if have ~= tonumber(ARGV[i + 2]) then return {0, 'conflict'} end
  i = i + 3
end
local version = redis.call('INCR', KEYS[1])
local v = int(version)
local feed = base .. 'feed'
local out = {1, version}
local count = tonumber(ARGV[i])
i = i + 1
for index = 1, count do
  local op, ns, arg, text = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  i = i + 4
  if op == 'append' then
    local seq = redis.call('INCR', base .. 'logn:' .. ns) - 1
    local log = base .. 'log:' .. ns
    redis.call('ZADD', log, int(seq), int(seq) .. ':' .. text)
    redis.call('ZREMRANGEBYSCORE', log, '-inf', '(' .. int(seq - tonumber(arg) + 1))
    out[#out + 1] = seq
  else
    local kv = base .. 'kv:' .. ns
    local value = false
    if op == 'set' then
      redis.call('HSET', kv, arg, v .. ':' .. text)
      value = text
    else
      redis.call('HDEL', kv, arg)
    end
    redis.call('ZADD', feed, v, cjson.encode({v, index, ns, arg, value}))
  end
end
local size = redis.call('ZCARD', feed)
if size > keep then
  local drop = size - keep
  local last = redis.call('ZRANGE', feed, drop - 1, drop - 1, 'WITHSCORES')
  redis.call('SET', base .. 'floor', last[2])
  redis.call('ZREMRANGEBYRANK', feed, 0, drop - 1)
end
redis.call('PUBLISH', base .. 'changes', v)
return out`,
);

/**
 * ARGV: the version asked from. Returns {'reload'} when the feed does not
 * reach back that far or the version is beyond the store's (a replaced
 * store), else {version, feed member…} oldest first.
 */
export const CHANGES = new Script(
  'changes',
  `${PRELUDE}
local version = current_version()
local since = tonumber(ARGV[1])
local floor = tonumber(redis.call('GET', base .. 'floor') or '0')
if since > version or since < floor then return {'reload'} end
local out = redis.call('ZRANGEBYSCORE', base .. 'feed', '(' .. ARGV[1], '+inf')
table.insert(out, 1, version)
return out`,
);
