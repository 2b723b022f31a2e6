dofile(os.getenv("BENCH_DIR") .. "/common.lua")
-- Each thread returns its own slice of the seeded orders 1..50000, so no order is returned twice.
local per_thread = 25000
request = function()
  seq = seq + 1
  return wrk.format("DELETE", "/loyalty-api/orders/" .. ((tid - 1) * per_thread + seq))
end
