-- Full-mix load for wrk (make loadtest, bench/loadtest.py): readers' page views and what
-- their answers hand out, in the proportions the answers themselves give.
--
-- args: drivers file ("kind<TAB>path" lines: page, decision, countdown), threads, user agent,
--       log prefix, the time to stop sending (Unix seconds), one click per N ad URLs seen,
--       one replay per N events sent, seconds before a replay.
--
-- Each thread takes the next driver request only when it has nothing else to send. Every
-- answer that hands out URLs (an article page: its read_url and its ads; a page decision:
-- its ads) queues them on that thread: each impression_url, the read_url, and one
-- click_url in N. One event in N (impression, click, read) is sent again later, marked as
-- a replay, once its first answer is surely in (wrk's --timeout is 5 s; a replay waits
-- longer, and a slower answer is a timeout error, so the run fails anyway).
--
-- Every request sent is written to "<prefix>-<thread>.log" as "kind<TAB>path". When the
-- time is up each thread stops sending (delay() holds its connections) and stops once every
-- request it sent has been answered: nothing is left in flight, so the log is exactly what
-- the server answered (a socket error would lose one: the thread then stops DRAIN_LIMIT
-- seconds after the time, and the run fails on the error).

local threads = {}
local DRAIN_LIMIT = 10 -- seconds: past wrk's 5 s timeout
local counter = 0
local KINDS = {
  "page", "decision", "countdown", "impression", "click", "read",
  "impression_replay", "click_replay", "read_replay",
}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  drivers = {}
  for line in io.lines(args[1]) do
    local kind, path = line:match("^([^\t]+)\t(.+)$")
    drivers[#drivers + 1] = {kind, path}
  end
  nthreads = tonumber(args[2])
  wrk.headers["User-Agent"] = args[3]
  log = assert(io.open(args[4] .. "-" .. id .. ".log", "w"))
  log:setvbuf("line")
  deadline = tonumber(args[5])
  click_every = tonumber(args[6])
  replay_every = tonumber(args[7])
  replay_after = tonumber(args[8])
  for _, kind in ipairs(KINDS) do
    _G["sent_" .. kind] = 0
  end
  index = id + 1
  queue, qhead, qtail = {}, 1, 0
  replays, rhead, rtail = {}, 1, 0
  issued, answered, events, ad_urls = 0, 0, 0, 0
  draining, drained = false, 0
  -- wrk calls request() once in the first thread's state before the run, to see whether it
  -- pipelines; that request is never sent, so it is neither counted nor logged.
  probed = id ~= 0
end

local function push(kind, path)
  qtail = qtail + 1
  queue[qtail] = {kind, path}
end

local function finish()
  log:flush()
  if drained == 0 then
    drained = 1
  end
  wrk.thread:stop()
end

function delay()
  if not draining and os.time() >= deadline then
    draining = true
  end
  if draining then
    -- Every answer is in, or one never comes (a socket error lost it: the run fails).
    if answered == issued then
      finish()
    elseif os.time() >= deadline + DRAIN_LIMIT then
      drained = -1 -- gave up on a lost answer
      finish()
    end
    return 1000 -- hold the connection, sending nothing, and look again in a second
  end
  return 0
end

function request()
  if not probed then
    probed = true
    return wrk.format("GET", drivers[1][2])
  end
  local kind, path
  local due = replays[rhead]
  if due and due[1] <= os.time() then
    replays[rhead] = nil
    rhead = rhead + 1
    kind, path = due[2], due[3]
  elseif qhead <= qtail then
    local next = queue[qhead]
    queue[qhead] = nil
    qhead = qhead + 1
    kind, path = next[1], next[2]
  else
    local driver = drivers[index]
    index = index + nthreads
    if index > #drivers then
      index = ((index - 1) % #drivers) + 1
    end
    kind, path = driver[1], driver[2]
  end
  issued = issued + 1
  _G["sent_" .. kind] = _G["sent_" .. kind] + 1
  log:write(kind, "\t", path, "\n")
  if kind == "impression" or kind == "click" or kind == "read" then
    events = events + 1
    if events % replay_every == 0 then
      rtail = rtail + 1
      replays[rtail] = {os.time() + replay_after, kind .. "_replay", path}
    end
  end
  return wrk.format("GET", path)
end

function response(status, headers, body)
  answered = answered + 1
  if body and string.find(body, "_url\":\"", 1, true) then
    for path in string.gmatch(body, "\"read_url\":\"https?://[^/\"]+(/[^\"]+)\"") do
      push("read", path)
    end
    for path in string.gmatch(body, "\"impression_url\":\"https?://[^/\"]+(/[^\"]+)\"") do
      push("impression", path)
    end
    for path in string.gmatch(body, "\"click_url\":\"https?://[^/\"]+(/[^\"]+)\"") do
      ad_urls = ad_urls + 1
      if ad_urls % click_every == 0 then
        push("click", path)
      end
    end
  end
  if draining and answered == issued then
    finish()
  end
end

function done(summary, latency, requests)
  local sent, drained_threads = {}, 0
  for _, kind in ipairs(KINDS) do
    local total = 0
    for _, thread in ipairs(threads) do
      total = total + thread:get("sent_" .. kind)
    end
    sent[#sent + 1] = string.format('"%s": %d', kind, total)
  end
  for _, thread in ipairs(threads) do
    if thread:get("drained") == 1 then
      drained_threads = drained_threads + 1
    end
  end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "threads": %d, "drained_threads": %d, ' ..
    '"sent": {' .. table.concat(sent, ", ") .. '}, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, #threads, drained_threads,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
