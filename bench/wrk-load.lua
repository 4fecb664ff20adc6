-- Varies x-user-id over 1000 users (Cutover's sticky key) and prints a JSON summary
-- that bench/lib/load.ts reads. Times are in microseconds. With BENCH_BODY_BYTES=N
-- (N > 0) every request is a POST with an N-byte body (Content-Length).
local n = 0
local bodyBytes = tonumber(os.getenv("BENCH_BODY_BYTES") or "0") or 0
local method = nil
local body = nil
if bodyBytes > 0 then
  method = "POST"
  body = string.rep("x", bodyBytes)
end

request = function()
  n = n + 1
  return wrk.format(method, nil, { ["x-user-id"] = "u" .. (n % 1000) }, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,' ..
      '"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout))
end
