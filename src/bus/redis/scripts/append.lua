-- Shared by record.lua and publish.lua, which are loaded with this file in
-- front of them: appends one event to the stream and keeps the stream
-- bounded in entries and in bytes.
--
-- The byte bound: the settings hash keeps a running average of event sizes
-- (field avg_bytes, an exponential average over about the last 64 events),
-- and the stream is trimmed to max_bytes / average entries when that is
-- fewer than max_len. Large events thus shorten the stream; small ones let
-- it keep max_len. Trimming is MAXLEN ~ (whole stream nodes, so a few
-- hundred entries over the bound at most), one step per event, O(1).
-- Returns the new entry's id and the id of the entry before it ("" when the
-- stream was empty).
local function append(stream, settings, payload, max_len, max_bytes)
  local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
  local previous = ''
  if #last > 0 then previous = last[1][1] end
  local average = tonumber(redis.call('HGET', settings, 'avg_bytes')) or #payload
  average = average + (#payload - average) / 64
  redis.call('HSET', settings, 'avg_bytes', string.format('%.1f', average))
  local keep = math.floor(tonumber(max_bytes) / math.max(average, 1))
  keep = math.max(1, math.min(tonumber(max_len), keep))
  local id = redis.call('XADD', stream, 'MAXLEN', '~', keep, '*', 'e', payload, 'p', previous)
  return id, previous
end
