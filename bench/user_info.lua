dofile(os.getenv("BENCH_DIR") .. "/common.lua")
request = function()
  return wrk.format("GET", "/rewards-api/get-user-info/?user_id=" .. customer())
end
