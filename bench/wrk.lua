-- Requests from a file (method, path, cookie, CSRF token, body: tab-separated), one
-- picked at random for each request; prints the figures as one JSON line at the end.
local requests = {}

local function split(line)
  local fields = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do table.insert(fields, field) end
  return fields
end

function init(args)
  for line in io.lines(args[1]) do
    local f = split(line)
    local headers = { ["Cookie"] = f[3] }
    if f[4] ~= "" then headers["X-CSRFToken"] = f[4] end
    local body = nil
    if f[1] == "POST" then
      headers["Content-Type"] = "application/x-www-form-urlencoded"
      body = f[5]
    end
    table.insert(requests, wrk.format(f[1], f[2], headers, body))
  end
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

function request()
  return requests[math.random(#requests)]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
