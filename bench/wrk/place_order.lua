-- placeOrder load for wrk (LuaJIT). `python -m bench.api` writes the config and runs:
--   wrk -t T -c C -d D --timeout 10s -s bench/wrk/place_order.lua URL/graphql -- CONFIG.lua
-- CONFIG.lua returns a table: tokens (bearer tokens, one picked per request), market, query_json
-- (the placeOrder document as a JSON string), prefix (clientOrderIds are prefix-thread-counter,
-- unique per run), cross (fraction of orders priced through the book), mid_ticks, spread_ticks,
-- max_lots, cross_max_lots, seed, rate_per_thread (orders/s each thread paces itself to; 0: as
-- fast as answered).
-- done() prints one line `WRK_JSON {...}` with wrk's figures and the answer counts.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local CLOCK_MONOTONIC = 1

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

-- setup/done run in the main Lua state; the others in each thread's own state.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

local COUNTERS = {
  "answered", "filled", "partially_filled", "new", "pending_new", "expired", "other_status",
  "error_answers", "http_errors",
}

local cfg, tokens, interval, next_slot, headers_base
counter = 0

function init(args)
  cfg = dofile(args[1])
  tokens = cfg.tokens
  for _, name in ipairs(COUNTERS) do _G[name] = 0 end
  first_error = ""
  math.randomseed(cfg.seed + (thread_id or 1) * 7919)
  if cfg.rate_per_thread > 0 then
    interval = 1000 / cfg.rate_per_thread
  else
    delay = nil -- unpaced: every connection sends its next order as soon as it is answered
  end
end

function delay()
  -- One schedule per thread: each request takes the next slot `interval` ms after the previous
  -- one. If the thread falls behind (all its connections busy) the schedule restarts from now,
  -- so the achieved rate (reported) drops below the target instead of bursting.
  local now = now_ms()
  if next_slot == nil or next_slot < now then next_slot = now end
  local wait = next_slot - now
  next_slot = next_slot + interval
  return math.floor(wait)
end

function request()
  counter = counter + 1
  local token = tokens[((counter + (thread_id or 1) * 7919) % #tokens) + 1]
  -- Resting orders: 1..spread_ticks away from the middle on their own side, 1..max_lots.
  -- Crossing orders: priced through the whole resting band and smaller on average, so they
  -- find liquidity and trade as takers while the book slowly deepens.
  local buy = math.random() < 0.5
  local ticks, lots
  if math.random() < cfg.cross then
    ticks = cfg.mid_ticks + ((buy and cfg.spread_ticks) or -cfg.spread_ticks)
    lots = math.random(1, cfg.cross_max_lots)
  else
    local off = math.random(1, cfg.spread_ticks)
    ticks = cfg.mid_ticks + ((buy and -off) or off)
    lots = math.random(1, cfg.max_lots)
  end
  local body = string.format(
    '{"query":%s,"variables":{"input":{"market":"%s","side":"%s","type":"LIMIT",'
      .. '"price":"%d.%02d","quantity":"%d.%03d","clientOrderId":"%s-%d-%d"}}}',
    cfg.query_json, cfg.market, buy and "BUY" or "SELL", math.floor(ticks / 100), ticks % 100,
    math.floor(lots / 1000), lots % 1000, cfg.prefix, thread_id or 1, counter
  )
  return wrk.format("POST", "/graphql", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

local STATUSES = {
  FILLED = "filled", PARTIALLY_FILLED = "partially_filled", NEW = "new",
  PENDING_NEW = "pending_new", EXPIRED = "expired",
}

function response(status, headers, body)
  if status ~= 200 then
    http_errors = http_errors + 1
    if first_error == "" then first_error = string.sub(body, 1, 300) end
    return
  end
  if string.find(body, '"__typename":%s*"Order"') then
    answered = answered + 1
    local s = string.match(body, '"status":%s*"([A-Z_]+)"')
    local name = STATUSES[s] or "other_status"
    _G[name] = _G[name] + 1
  else
    error_answers = error_answers + 1
    if first_error == "" then first_error = string.sub(body, 1, 300) end
  end
end

local function json_string(s)
  return '"' .. string.gsub(s, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end) .. '"'
end

function done(summary, latency, requests)
  local totals = {}
  local sample = ""
  for _, name in ipairs(COUNTERS) do totals[name] = 0 end
  for _, thread in ipairs(threads) do
    for _, name in ipairs(COUNTERS) do totals[name] = totals[name] + (thread:get(name) or 0) end
    local e = thread:get("first_error") or ""
    if sample == "" then sample = e end
  end
  local parts = {}
  local function add(k, v) table.insert(parts, string.format('"%s":%s', k, v)) end
  add("duration_us", string.format("%d", summary.duration))
  add("requests", string.format("%d", summary.requests))
  add("bytes", string.format("%d", summary.bytes))
  for _, k in ipairs({ "connect", "read", "write", "status", "timeout" }) do
    add("socket_" .. k, string.format("%d", summary.errors[k]))
  end
  add("latency_min_us", string.format("%d", latency.min))
  add("latency_mean_us", string.format("%.1f", latency.mean))
  add("latency_max_us", string.format("%d", latency.max))
  for _, p in ipairs({ 50, 90, 99, 99.9 }) do
    add(string.format("latency_p%s_us", string.gsub(tostring(p), "%.", "_")),
      string.format("%d", latency:percentile(p)))
  end
  for _, name in ipairs(COUNTERS) do add(name, string.format("%d", totals[name])) end
  add("first_error", json_string(sample))
  io.write("WRK_JSON {" .. table.concat(parts, ",") .. "}\n")
end
