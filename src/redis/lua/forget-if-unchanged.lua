-- The compare-and-delete the sweepers share: drop an index entry only if its score is still the
-- one the sweeper read, so an entry re-announced meanwhile is never forgotten.
--
-- KEYS[1] sorted set   ARGV[1] member   ARGV[2] the score seen
-- returns 1 when the entry was removed, else 0
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
