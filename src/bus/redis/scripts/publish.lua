-- Publishes an event the durable way: recorded in the stream, counted as
-- seen, then published on the channel for every other subscriber.
-- KEYS[1] stream, KEYS[2] settings hash. ARGV: seen-key prefix, payload,
-- max length, window (s), channel, max bytes. Returns the entry id.
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
local id, previous = append(KEYS[1], KEYS[2], ARGV[2], ARGV[3], ARGV[6])
redis.call('HSET', seen, '#' .. n, id .. ' ' .. previous)
redis.call('EXPIRE', seen, ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[2])
return id
