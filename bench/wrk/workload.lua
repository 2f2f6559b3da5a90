-- wrk script of the eusdp benchmark (bench/harness/loadgen.py writes the spec file).
-- Usage: wrk ... -s bench/wrk/workload.lua URL -- SPECFILE
-- SPECFILE lines: method, Accept header, base number, path. Where the path holds the
-- marker __N__ it is replaced by a number distinct for every request of the run (thread id,
-- counter and base), so each ad-hoc query text is new and no cache can answer it.
-- done() prints one line "WRK_JSON {...}" with the counts and latency percentiles.

local next_id = 0
local counter = 0
local template, fixed, base

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local f = assert(io.open(args[1], "r"))
  wrk.method = f:read("*l")
  wrk.headers["Accept"] = f:read("*l")
  base = tonumber(f:read("*l"))
  template = f:read("*l")
  f:close()
  if not string.find(template, "__N__", 1, true) then
    fixed = wrk.format(nil, template)
  end
end

function request()
  if fixed then
    return fixed
  end
  counter = counter + 1
  local n = string.format("%.0f", base + (id or 0) * 1e9 + counter)
  return wrk.format(nil, (string.gsub(template, "__N__", n)))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end
