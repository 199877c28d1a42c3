-- Each connection waits DELAY_MS between an answer and its next request: steady load
-- below the servers' capacity, instead of as much as they can take.
local pause = tonumber(os.getenv("DELAY_MS"))

delay = function()
  return pause
end
