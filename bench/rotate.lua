-- Each request carries the next token of TOKENS_FILE (one per line) as a bearer token.
-- Threads start ROTATION_OFFSET tokens in, spread evenly over the list, so that
-- successive runs continue the rotation instead of repeating its beginning.
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = line end
local base = tonumber(os.getenv("ROTATION_OFFSET") or "0")
local threads = 0
local counter = 0

setup = function(thread)
  thread:set("offset", base + threads * math.floor(#tokens / 2))
  threads = threads + 1
end

request = function()
  counter = counter + 1
  local token = tokens[(offset + counter) % #tokens + 1]
  return wrk.format(nil, nil, { ["Authorization"] = "Bearer " .. token })
end
