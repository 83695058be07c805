-- Take over a lost media session for a resume within its window.
--
-- KEYS[1] media hash of the call ({callId})
-- ARGV[1] sessionId   ARGV[2] owner (the resuming process)   ARGV[3] now (ms)   ARGV[4] window ms
-- returns 'ok' | 'unknown-session' | 'ended' | 'live' (still streaming) | 'expired'
local id = redis.call('HGET', KEYS[1], 'sessionId')
if id ~= ARGV[1] then return 'unknown-session' end
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'ended' then return 'ended' end
if state ~= 'lost' then return 'live' end
local lostAt = tonumber(redis.call('HGET', KEYS[1], 'lostAt'))
if lostAt == nil or tonumber(ARGV[3]) - lostAt > tonumber(ARGV[4]) then return 'expired' end
redis.call('HSET', KEYS[1], 'state', 'streaming', 'owner', ARGV[2])
redis.call('HDEL', KEYS[1], 'lostAt')
return 'ok'
