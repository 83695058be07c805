-- Sent with the acknowledgement that may have emptied a call's outbox: an empty outbox stream is
-- deleted (an empty stream still takes ~0.4 KB), and the call leaves the outbox index, so the
-- sweepers need not visit it, but only while the index still holds the score this process
-- announced: a later announcement (another commit, perhaps another process's, whose effects are
-- not acknowledged yet) keeps the entry.
--
-- KEYS[1] outbox index (sorted set)   KEYS[2] the call's outbox stream
-- ARGV[1] call id   ARGV[2] the score announced
-- returns 1 when the index entry was removed, else 0
if redis.call('XLEN', KEYS[2]) > 0 then
  return 0
end
redis.call('DEL', KEYS[2])
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
