-- wrk script: each request takes the next path of a file (one path per line). The wrk
-- threads interleave through the file, so with "once" every path is sent at most once
-- (each beacon/click token is a distinct served ad). A line "PATH<TAB>ETAG" sends the ETag
-- in If-None-Match (conditional GETs). Prints one JSON line when done.
--   wrk -s bench/paths.lua URL -- PATHS_FILE NTHREADS once|loop USER_AGENT

local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  etags = {}
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    local path, etag = line:match("^([^\t]+)\t(.+)$")
    paths[#paths + 1] = path or line
    etags[#paths] = etag
  end
  file:close()
  nthreads = tonumber(args[2])
  once = args[3] == "once"
  agent = args[4] or "Mozilla/5.0 (X11; Linux x86_64) bench"
  wrk.headers["User-Agent"] = agent
  index = id + 1
  sent = 0
  exhausted = 0
end

function request()
  if index > #paths then
    if once then
      exhausted = 1
    end
    index = ((index - 1) % #paths) + 1
  end
  local path = paths[index]
  local etag = etags[index]
  index = index + nthreads
  sent = sent + 1
  if etag then
    return wrk.format("GET", path, {["User-Agent"] = agent, ["If-None-Match"] = etag})
  end
  return wrk.format("GET", path)
end

function response(status, headers, body)
  if once and index > #paths then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local total_sent, total_exhausted, by_thread = 0, 0, {}
  for _, thread in ipairs(threads) do
    total_sent = total_sent + thread:get("sent")
    total_exhausted = total_exhausted + thread:get("exhausted")
    by_thread[#by_thread + 1] = string.format("[%d, %d]", thread:get("id"), thread:get("sent"))
  end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "sent": %d, "exhausted": %d, ' ..
    '"sent_by_thread": [' .. table.concat(by_thread, ", ") .. '], ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, total_sent, total_exhausted,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
