-- Records a message a gateway received on the channel, unless another
-- gateway (or the publisher) already recorded that publication.
-- KEYS[1] stream, KEYS[2] settings hash, KEYS[3] runs index, KEYS[4] the
-- run's log, KEYS[5] the run's progress, KEYS[6] the payload's seen hash
-- (prefix .. sha1 hex of the payload). ARGV: gateway id, payload, max
-- length, window (s), max bytes, run key ("" for an event of no run), kind
-- (transition or progress), stage, max steps per run, retention (s).
-- Returns {id, previous, recorded}: the publication's entry id, the
-- stream's last id before it ("" when it was empty), and 1 when this call
-- recorded it, 0 when another had; nil for a duplicate whose id is unknown.
-- Fields of the seen hash: a count per gateway (and "~publisher"), and
-- "#<n>" = "id previous" of the n-th publication of the payload.
local seen = KEYS[6]
local mine = redis.call('HINCRBY', seen, ARGV[1], 1)
local fields = redis.call('HGETALL', seen)
local highest = 0
for i = 1, #fields, 2 do
  local name = fields[i]
  if name ~= ARGV[1] and string.sub(name, 1, 1) ~= '#' then
    local n = tonumber(fields[i + 1])
    if n > highest then highest = n end
  end
end
redis.call('EXPIRE', seen, ARGV[4])
if mine > highest then
  local id, previous = append(KEYS[1], KEYS[2], ARGV[2], ARGV[3], ARGV[5])
  remember_run(KEYS[3], KEYS[4], KEYS[5], id, ARGV[2], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10])
  redis.call('HSET', seen, '#' .. mine, id .. ' ' .. previous)
  return {id, previous, 1}
end
local known = redis.call('HGET', seen, '#' .. mine)
if known then
  local space = string.find(known, ' ', 1, true)
  return {string.sub(known, 1, space - 1), string.sub(known, space + 1), 0}
end
return false
