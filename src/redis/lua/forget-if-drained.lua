-- Sent with the acknowledgement that may have emptied a call's outbox: an empty outbox stream is
-- deleted (an empty stream still takes ~0.4 KB), and the call leaves the outbox index, so the
-- sweepers need not visit it, but only while the index still holds the score this process
-- announced: a later announcement (another commit, perhaps another process's, whose effects are
-- not acknowledged yet) keeps the entry.
--
-- A call whose timer starts are still deferred (KEYS[3]) stays in the index instead, with the
-- earliest of their scores, when a sweeper must hand that start to BullMQ.
--
-- KEYS[1] outbox index (sorted set)   KEYS[2] the call's outbox stream
-- KEYS[3] the call's deferred timer starts (hash jobId → "<score> <effect>")
-- ARGV[1] call id   ARGV[2] the score announced
-- returns 1 when the index entry was removed, 2 when it was moved to a deferred start, else 0
if redis.call('XLEN', KEYS[2]) > 0 then
  return 0
end
redis.call('DEL', KEYS[2])
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then
  return 0
end
local earliest = nil
for _, value in ipairs(redis.call('HVALS', KEYS[3])) do
  local at = tonumber(string.match(value, '^(%S+)'))
  if at and (earliest == nil or at < earliest) then earliest = at end
end
if earliest then
  redis.call('ZADD', KEYS[1], earliest, ARGV[1])
  return 2
end
return redis.call('ZREM', KEYS[1], ARGV[1])
