-- Each request carries the next token of TOKENS_FILE (one per line) as a bearer token.
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = line end
local counter = 0

setup = function(thread)
  thread:set("offset", math.random(#tokens))
end

request = function()
  counter = counter + 1
  local token = tokens[((offset or 0) + counter) % #tokens + 1]
  return wrk.format(nil, nil, { ["Authorization"] = "Bearer " .. token })
end
