-- Shared by record.lua and publish.lua, loaded after append.lua: keeps the
-- events of each pipeline run in Redis, written in the same step that
-- records the event, so that the state of every retained run is exact after
-- every gateway restarts, however short the stream is.
--
-- A run's state transitions go into a stream of its own (the same entry id
-- as in the main stream, at most max_steps of them); its progress updates
-- only keep the newest per stage, in a hash (stage -> "id payload"). An
-- index (sorted set: run key -> time of its last event) says which runs are
-- the newest; runs older than the retention age leave the index, and their
-- keys expire with it.
local function remember_run(index, log, progress, id, payload, run, kind, stage, max_steps, retention_s)
  if run == '' then return end
  local ms = tonumber(string.match(id, '^(%d+)'))
  if kind == 'progress' then
    redis.call('HSET', progress, stage, id .. ' ' .. payload)
    redis.call('EXPIRE', progress, retention_s)
  else
    redis.call('XADD', log, 'MAXLEN', '~', max_steps, id, 'e', payload)
    redis.call('EXPIRE', log, retention_s)
  end
  redis.call('ZADD', index, ms, run)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', ms - tonumber(retention_s) * 1000)
end
