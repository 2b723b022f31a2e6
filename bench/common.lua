-- Shared by the wrk scripts: auth header, JSON body, per-thread ids.
token = os.getenv("BENCH_TOKEN")
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"

threads = {}
counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + tid * 7919)
  seq = 0
end

function customer()
  return math.random(1000, 10999)
end
