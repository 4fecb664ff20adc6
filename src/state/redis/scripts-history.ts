// The report's minute history in Redis: `{prefix:history}:<minute ms>` is a
// hash of historyField (route, kind, side, instance as JSON) → payload that
// expires (PEXPIREAT) a minute after its minute leaves the retention;
// `{prefix:history}:index` is a sorted set of the minutes that have rows
// (score = member = the minute), so a range read touches only those and never
// needs KEYS or SCAN. One hash tag: each script touches one Cluster slot.
import { Script } from './script.ts';

/**
 * KEYS[1] = the index. ARGV: retain ms, prune span ms, then (minute, field,
 * payload) per row. The time is Redis's (TIME), never an instance's.
 */
export const WRITE_HISTORY = new Script(
  'writeHistory',
  `local base = string.sub(KEYS[1], 1, -6)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local retain, span = tonumber(ARGV[1]), tonumber(ARGV[2])
local oldest = now - retain
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if first[2] then
  local cut = math.min(oldest, tonumber(first[2]) + span)
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. string.format('%d', cut))) do
    redis.call('DEL', base .. m)
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. string.format('%d', cut))
end
for i = 3, #ARGV, 3 do
  local minute = tonumber(ARGV[i])
  if minute >= oldest then
    local key = base .. ARGV[i]
    redis.call('HSET', key, ARGV[i + 1], ARGV[i + 2])
    redis.call('PEXPIREAT', key, string.format('%d', minute + retain + 60000))
    redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i])
  end
end
return 1`,
);

/**
 * KEYS[1] = the index. ARGV: from, until (ms), the field prefix to keep (''
 * for all), the most minutes to read. Returns (minute, field, payload)…; the
 * caller reads on from the last minute + 1 while a call returns that many
 * minutes, so one call never holds Redis for long.
 */
export const READ_HISTORY = new Script(
  'readHistory',
  `local base = string.sub(KEYS[1], 1, -6)
local prefix = ARGV[3]
local n = #prefix
local minutes = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', 0, tonumber(ARGV[4]))
local out = {#minutes}
for _, m in ipairs(minutes) do
  local h = redis.call('HGETALL', base .. m)
  for j = 1, #h, 2 do
    if n == 0 or string.sub(h[j], 1, n) == prefix then
      out[#out + 1] = m
      out[#out + 1] = h[j]
      out[#out + 1] = h[j + 1]
    end
  end
end
out[#out + 1] = minutes[#minutes] or ''
return out`,
);
