-- Publishes an event the durable way: recorded in the stream, counted as
-- seen, then published on the channel for every other subscriber.
-- KEYS[1] stream, KEYS[2] settings hash, KEYS[3] runs index, KEYS[4] the
-- run's log, KEYS[5] the run's progress, KEYS[6] the payload's seen hash
-- (prefix .. sha1 hex of the payload). ARGV: payload, max length, window
-- (s), channel, max bytes, run key ("" for an event of no run), kind
-- (transition or progress), stage, max steps per run, retention (s).
-- Returns the entry id.
local seen = KEYS[6]
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
local id, previous = append(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[5])
remember_run(KEYS[3], KEYS[4], KEYS[5], id, ARGV[1], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10])
redis.call('HSET', seen, '#' .. n, id .. ' ' .. previous)
redis.call('EXPIRE', seen, ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[1])
return id
