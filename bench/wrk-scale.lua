-- The scaling part's load (bench/scale.ts): each request goes to a random one of
-- BENCH_SCALE_ROUTES routes (/r<i>/items, see bench/lib/scale-config.ts) with a
-- random one of BENCH_SCALE_KEYS sticky keys (x-user-id: u<k>), so the whole route
-- table and key space are hit, not one hot entry. Prints the same JSON summary as
-- bench/wrk-load.lua.
local routes = tonumber(os.getenv("BENCH_SCALE_ROUTES") or "1") or 1
local keys = tonumber(os.getenv("BENCH_SCALE_KEYS") or "1000") or 1000

init = function(args)
  -- Each wrk thread has its own Lua state: seed it apart from the others.
  math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0))
end

request = function()
  local path = "/r" .. math.random(0, routes - 1) .. "/items"
  return wrk.format(nil, path, { ["x-user-id"] = "u" .. math.random(0, keys - 1) })
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,' ..
      '"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout))
end
