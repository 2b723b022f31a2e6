dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local user = os.getenv("BENCH_USER")
request = function()
  return wrk.format("GET", "/rewards-api/get-points/?user_id=" .. user)
end
