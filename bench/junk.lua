-- Each request carries a token nobody issued: the resource server must ask the AS.
math.randomseed(os.time())
local counter = 0

request = function()
  counter = counter + 1
  local token = string.format("junk%d%d%d", math.random(1e9), counter, math.random(1e9))
  return wrk.format(nil, nil, { ["Authorization"] = "Bearer " .. token })
end
