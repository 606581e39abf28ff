-- wrk script (bench/features.sh): GET /v1/features/profiles/<id> over
-- keep-alive connections, ids drawn at random from IDS_FILE (one a line);
-- with BATCH=n (> 0), POST /v1/features/profiles:batch with n random ids
-- instead; with FIXED_PATH set, GET that path (the /healthz baseline).
-- Prints the latency percentiles as one JSON line at the end.
local ids = {}
local fixed = os.getenv("FIXED_PATH")
local path = os.getenv("IDS_FILE")
if not fixed then
  for line in io.lines(path) do
    if #line > 0 then ids[#ids + 1] = line end
  end
end
math.randomseed(os.time())
local batch = tonumber(os.getenv("BATCH") or "0")
local bodies = {}
if batch > 0 then
  for b = 1, 64 do
    local pick = {}
    for i = 1, batch do pick[i] = '"' .. ids[math.random(#ids)] .. '"' end
    bodies[b] = '{"ids":[' .. table.concat(pick, ",") .. ']}'
  end
end

request = function()
  if fixed then return wrk.format("GET", fixed) end
  if batch > 0 then
    return wrk.format("POST", "/v1/features/profiles:batch",
                      {["Content-Type"] = "application/json"}, bodies[math.random(#bodies)])
  end
  return wrk.format("GET", "/v1/features/profiles/" .. ids[math.random(#ids)])
end

done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read +
                 summary.errors.write + summary.errors.timeout
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"rps":%.0f,"errors":%d,"p50_ms":%.3f,"p90_ms":%.3f,' ..
    '"p99_ms":%.3f,"p999_ms":%.3f,"max_ms":%.3f}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6), errors,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000))
end
