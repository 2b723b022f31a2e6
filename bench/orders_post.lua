dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local base = tonumber(os.getenv("BENCH_ORDER_BASE"))
request = function()
  seq = seq + 1
  local order_id = base + tid * 10000000 + seq
  return wrk.format("POST", "/loyalty-api/orders", nil,
    '{"user_id": ' .. customer() .. ', "order_id": ' .. order_id .. ', "total_cost": 1999, "completed_at": 1700000000}')
end
