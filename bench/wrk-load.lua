-- Varies x-user-id over 1000 users (Cutover's sticky key) and prints a JSON summary
-- that bench/lib/load.ts reads. Times are in microseconds. With BENCH_BODY_BYTES=N
-- (N > 0) every request is a POST with an N-byte body (Content-Length).
-- The scaling part (bench/scale.ts) sets BENCH_SCALE_ROUTES and BENCH_SCALE_KEYS:
-- then each request goes to a random one of that many routes (/r<i>/items, see
-- bench/lib/scale-config.ts) with a random one of that many keys, so the whole
-- route table and key space are hit, not one hot entry.
-- BENCH_CONNECTION_CLOSE=1 asks for Connection: close, so every request opens a
-- new connection (bench/workers.ts: how the workers' port sharing copes with churn).
local n = 0
local bodyBytes = tonumber(os.getenv("BENCH_BODY_BYTES") or "0") or 0
local scaleRoutes = tonumber(os.getenv("BENCH_SCALE_ROUTES") or "")
local scaleKeys = tonumber(os.getenv("BENCH_SCALE_KEYS") or "1000") or 1000
local close = os.getenv("BENCH_CONNECTION_CLOSE") == "1"
local method = nil
local body = nil
if bodyBytes > 0 then
  method = "POST"
  body = string.rep("x", bodyBytes)
end

init = function(args)
  -- Each wrk thread has its own Lua state: seed it apart from the others.
  math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0))
end

request = function()
  if scaleRoutes then
    local path = "/r" .. math.random(0, scaleRoutes - 1) .. "/items"
    return wrk.format(method, path, { ["x-user-id"] = "u" .. math.random(0, scaleKeys - 1) }, body)
  end
  n = n + 1
  local headers = { ["x-user-id"] = "u" .. (n % 1000) }
  if close then headers["connection"] = "close" end
  return wrk.format(method, nil, headers, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,' ..
      '"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout))
end
