-- Mark a media session lost if it still streams for the owner whose process died; nothing
-- changes if it was resumed elsewhere or ended since it was read.
--
-- KEYS[1] media hash of the call ({callId})   ARGV[1] sessionId   ARGV[2] owner   ARGV[3] lostAt
-- returns 1 when marked lost now, else 0
if redis.call('HGET', KEYS[1], 'sessionId') == ARGV[1] and redis.call('HGET', KEYS[1], 'state') == 'streaming'
   and redis.call('HGET', KEYS[1], 'owner') == ARGV[2] then
  redis.call('HSET', KEYS[1], 'state', 'lost', 'lostAt', ARGV[3])
  return 1
end
return 0
