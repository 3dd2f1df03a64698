-- One submission per request, each with its own Idempotency-Key (a retry would reuse it).
-- The run's id comes after `--` on wrk's command line, so keys never repeat across runs.
local run = "run"
local counter = 0

init = function(args)
  run = args[1] or tostring(os.time())
end

request = function()
  counter = counter + 1
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Idempotency-Key"] = string.format("bench-%s-%d", run, counter)
  return wrk.format("POST", nil, nil, '{"code":"juminhyo-copy"}')
end
