-- Publishes an event the durable way: recorded in the stream, counted as
-- seen, then published on the channel for every other subscriber.
-- KEYS[1] stream. ARGV: seen-key prefix, payload, max length, window (s),
-- channel. Returns the entry id.
local seen = ARGV[1] .. redis.sha1hex(ARGV[2])
-- This publication's ordinal: one past every sighting so far, so a gateway
-- that already recorded earlier copies of the payload still skips this one.
local fields = redis.call('HGETALL', seen)
local n = 1
for i = 1, #fields, 2 do
  if string.sub(fields[i], 1, 1) ~= '#' then
    local count = tonumber(fields[i + 1])
    if count >= n then n = count + 1 end
  end
end
redis.call('HSET', seen, '~publisher', n)
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local previous = ''
if #last > 0 then previous = last[1][1] end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[2], 'p', previous)
redis.call('HSET', seen, '#' .. n, id .. ' ' .. previous)
redis.call('EXPIRE', seen, ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[2])
return id
