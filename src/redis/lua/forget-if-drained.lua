-- Drops a call from the outbox index once its outbox is empty, sent with the acknowledgement
-- that emptied it (so the sweepers need not visit the call). Only while the index still holds
-- the score this process announced: a later announcement (another commit, perhaps another
-- process's, whose effects are not acknowledged yet) keeps the entry.
--
-- KEYS[1] outbox index (sorted set)   KEYS[2] the call's outbox stream
-- ARGV[1] call id   ARGV[2] the score announced
-- returns 1 when the entry was removed, else 0
if redis.call('XLEN', KEYS[2]) > 0 then
  return 0
end
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
