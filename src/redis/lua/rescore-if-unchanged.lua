-- The outbox sweeper's compare-and-set on a call's index entry after a visit: only while the
-- score is still the one the sweeper read (nobody announced the call again meanwhile), move it to
-- the call's earliest deferred timer start, or drop it when none is left.
--
-- KEYS[1] outbox index (sorted set)
-- ARGV[1] call id   ARGV[2] the score seen   ARGV[3] the new score ('' = drop the entry)
-- returns 1 when the entry was changed, else 0
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then
  return 0
end
if ARGV[3] == '' then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
