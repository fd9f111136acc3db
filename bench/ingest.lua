-- wrk script of bench/ingest_http.py: heartbeats, one per call or `batch` per call.
-- Arguments: mode (single|batch), batch size, first run id, run count, wrk threads,
-- tokens...
-- Each wrk thread owns its own slice of the runs and walks it in order, so a run's
-- reported `processed` only grows (no progress_regression events) and no two calls in
-- flight report the same run.

local threads = {}
local counter = 1

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function init(args)
  mode, size = args[1], tonumber(args[2])
  first, count, nthreads = tonumber(args[3]), tonumber(args[4]), tonumber(args[5])
  tokens = {}
  for i = 6, #args do tokens[#tokens + 1] = args[i] end
  slice = math.floor(count / nthreads)
  base = first + index * slice
  position, round = 0, 1
  statuses = {}
end

local function next_id()
  local id = base + position
  position = position + 1
  if position >= slice then position, round = 0, round + 1 end
  return id
end

function request()
  counter = counter + 1
  local headers = {
    ["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1],
    ["Content-Type"] = "application/json",
  }
  if mode == "single" then
    local id = next_id()
    local body = '{"processed": ' .. round .. '}'
    return wrk.format("POST", "/api/v1/runs/" .. id .. "/heartbeat", headers, body)
  end
  local items = {}
  for i = 1, size do
    items[i] = '{"run_id": ' .. next_id() .. ', "processed": ' .. round .. '}'
  end
  local body = '{"items": [' .. table.concat(items, ",") .. ']}'
  return wrk.format("POST", "/api/v1/heartbeats", headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 300 and not shown then
    shown = true
    io.stderr:write("first refusal: " .. status .. " " .. body .. "\n")
  end
end

function done(summary, latency, requests)
  local merged, codes = {}, {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      merged[status] = (merged[status] or 0) + n
    end
  end
  for status, n in pairs(merged) do codes[#codes + 1] = '"' .. status .. '": ' .. n end
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p95_us": %d, ' ..
    '"p99_us": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write +
      summary.errors.status + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    table.concat(codes, ", ")))
end
