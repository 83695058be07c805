-- End a media session only if it is still lost since the loss the caller saw (nobody resumed it).
--
-- KEYS[1] media hash of the call ({callId})   ARGV[1] sessionId   ARGV[2] lostAt
-- returns 1 when ended now, else 0
if redis.call('HGET', KEYS[1], 'sessionId') == ARGV[1] and redis.call('HGET', KEYS[1], 'state') == 'lost'
   and redis.call('HGET', KEYS[1], 'lostAt') == ARGV[2] then
  redis.call('HSET', KEYS[1], 'state', 'ended')
  return 1
end
return 0
