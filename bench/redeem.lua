dofile(os.getenv("BENCH_DIR") .. "/common.lua")
request = function()
  return wrk.format("POST", "/rewards-api/redeem-coupon/", nil,
    '{"user_id": ' .. customer() .. ', "points_redeemed": 50, "coupon_amount": 5, "reward_description": "bench"}')
end
