dofile(os.getenv("BENCH_DIR") .. "/common.lua")
request = function()
  return wrk.format("POST", "/rewards-api/earn-points/", nil,
    '{"user_id": ' .. customer() .. ', "points_earned": 10, "reward_description": "bench event"}')
end
