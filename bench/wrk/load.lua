-- wrk -s bench/wrk/load.lua (bench/load.py, `make load`): one wrk thread per client, one connection each, every
-- client signed in as a user of its own (a token per line in $LOAD_TOKENS, handed out in thread order).
--   LOAD_MODE=read   lists (page numbers, a cursor page, filtered), and an initiative's detail, at random
--   LOAD_MODE=score  POST initiatives/{id}/score/ on a random initiative, then GET the job it was given
-- Initiative ids come from $LOAD_IDS (one per line), pillars are the seed's three. At the end one line:
--   LOAD_JSON {"requests":…, "non2xx":…, "accepted":…, "p50_us":…, "p99_us":…, …}
local mode = os.getenv("LOAD_MODE") or "read"

local function lines(path)
  local out = {}
  local f = assert(io.open(path, "rb"), "not readable: " .. tostring(path))
  for line in f:lines() do
    if line ~= "" then table.insert(out, line) end
  end
  f:close()
  return out
end

local tokens = lines(os.getenv("LOAD_TOKENS"))
local threads = {}
local next_token = 0

function setup(thread)
  next_token = next_token + 1
  thread:set("token", tokens[((next_token - 1) % #tokens) + 1])
  thread:set("id", next_token)
  table.insert(threads, thread)
end

local pillars = { "scenario", "data_sharing", "smart_banking" }

function init(args)
  ids = lines(os.getenv("LOAD_IDS"))
  math.randomseed(id * 7919)
  headers = { ["Authorization"] = "Token " .. token, ["Accept"] = "application/json" }
  post_headers = {
    ["Authorization"] = "Token " .. token,
    ["Accept"] = "application/json",
    ["Content-Type"] = "application/json",
  }
  non2xx, first_bad, accepted, polls, pending, last = 0, 0, 0, 0, nil, ""
end

local function random_id()
  return ids[math.random(#ids)]
end

function request()
  if mode == "score" then
    if pending then
      local path = "/api/v1/score-jobs/" .. pending .. "/"
      pending, last = nil, "poll"
      return wrk.format("GET", path, headers)
    end
    last = "score"
    return wrk.format("POST", "/api/v1/initiatives/" .. random_id() .. "/score/", post_headers, "{}")
  end
  local pick = math.random(4)
  if pick == 1 then
    return wrk.format("GET", "/api/v1/initiatives/?page_size=50&page=" .. math.random(20), headers)
  elseif pick == 2 then
    return wrk.format("GET", "/api/v1/initiatives/?pagination=cursor&page_size=50", headers)
  elseif pick == 3 then
    local pillar = pillars[math.random(#pillars)]
    return wrk.format("GET", "/api/v1/initiatives/?pagination=cursor&page_size=25&pillar=" .. pillar, headers)
  end
  return wrk.format("GET", "/api/v1/initiatives/" .. random_id() .. "/", headers)
end

function response(status, hdrs, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad == 0 then first_bad = status end
  end
  if last == "score" and status == 202 then
    accepted = accepted + 1
    pending = body:match('"id"%s*:%s*"(%x+%-%x+%-%x+%-%x+%-%x+)"')
  elseif last == "poll" then
    polls = polls + 1
  end
end

function done(summary, latency, requests)
  local bad, first, acc, pol = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("non2xx")
    acc = acc + t:get("accepted")
    pol = pol + t:get("polls")
    if first == 0 then first = t:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format(
    'LOAD_JSON {"requests":%d,"duration_us":%d,"non2xx":%d,"first_non2xx_status":%d,"accepted":%d,' ..
    '"polls":%d,"socket_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"mean_us":%.1f}\n',
    summary.requests, summary.duration, bad, first, acc, pol,
    e.connect + e.read + e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
