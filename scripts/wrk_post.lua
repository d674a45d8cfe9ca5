-- wrk script for scripts/bench.py: POST one JSON body per request, each with the next text of a file,
-- threads striding through it so no two requests of a run repeat a text (unless the file runs out).
-- args: path field file
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  path, field, nthreads = args[1], args[2], tonumber(args[4])
  texts = {}
  for line in io.lines(args[3]) do texts[#texts + 1] = line end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local i = (id + counter * nthreads) % #texts + 1
  counter = counter + 1
  return wrk.format(nil, path, nil, '{"' .. field .. '":"' .. texts[i] .. '","k":10}')
end

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format('{"n":%d,"seconds":%f,"p50":%f,"p95":%f,"p99":%f,"errors":%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, errors))
end
