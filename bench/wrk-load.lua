-- Varies x-user-id over 1000 users (Cutover's sticky key) and prints a JSON summary
-- that bench/lib/load.ts reads. Times are in microseconds.
local n = 0

request = function()
  n = n + 1
  return wrk.format(nil, nil, { ["x-user-id"] = "u" .. (n % 1000) })
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,' ..
      '"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout))
end
