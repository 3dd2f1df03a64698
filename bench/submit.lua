-- One submission per request, each with its own Idempotency-Key (a retry would reuse it).
local counter = 0
local thread_id = math.random(1, 1000000000)

request = function()
  counter = counter + 1
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Idempotency-Key"] = string.format("bench-%d-%d", thread_id, counter)
  return wrk.format("POST", nil, nil, '{"code":"juminhyo-copy"}')
end
