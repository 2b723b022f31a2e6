-- Soak: a mix of every write and read, counting statuses per thread.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local base = tonumber(os.getenv("BENCH_ORDER_BASE"))
local per_thread = 25000

local function body(t)
  local parts = {}
  for k, v in pairs(t) do
    local value = type(v) == "string" and ('"' .. v .. '"') or tostring(v)
    table.insert(parts, '"' .. k .. '": ' .. value)
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

request = function()
  seq = seq + 1
  local roll = math.random(100)
  local user = customer()
  if roll <= 25 then
    return wrk.format("POST", "/rewards-api/earn-points/", nil,
      body({user_id = user, points_earned = 10, reward_description = "soak"}))
  elseif roll <= 40 then
    local kind = math.random(2) == 1 and "coupon" or "donation"
    local t = {user_id = user, points_redeemed = 50, reward_description = "soak"}
    t[kind .. "_amount"] = 5
    return wrk.format("POST", "/rewards-api/redeem-" .. kind .. "/", nil, body(t))
  elseif roll <= 55 then
    return wrk.format("POST", "/loyalty-api/orders", nil,
      body({user_id = user, order_id = base + tid * 10000000 + seq, total_cost = math.random(0, 3000),
            completed_at = 1700000000}))
  elseif roll <= 65 then
    return wrk.format("DELETE", "/loyalty-api/orders/" .. ((tid - 1) * per_thread + math.random(per_thread)))
  elseif roll <= 85 then
    return wrk.format("GET", "/rewards-api/get-points/?user_id=" .. user)
  else
    return wrk.format("GET", "/rewards-api/get-user-info/?user_id=" .. user .. "&limit=20")
  end
end

response = function(status, headers, body)
  local key = "n" .. status
  _G[key] = (_G[key] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    -- wrk only hands back plain values from a thread: read the known status keys.
    for _, status in ipairs({200, 201, 400, 401, 404, 409, 429, 500, 502, 503}) do
      local n = thread:get("n" .. status)
      if n then totals[status] = (totals[status] or 0) + n end
    end
  end
  for status, n in pairs(totals) do io.write(string.format("status %d: %d\n", status, n)) end
end
