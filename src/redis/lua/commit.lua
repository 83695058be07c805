-- The one atomic step of every transition: compare-and-set the call's snapshot on its version,
-- claim the notification's dedup marker, append the transition's effects to the call's outbox,
-- and for a finished call set the retention and write its compact record — all or nothing
-- (docs/architecture.md#one-transition-at-a-time, #duplicates-are-harmless,
-- #effects-follow-commits).
--
-- The transition's history entry is appended to the call's history list in the same step
-- (capped: the oldest entries go; their count is the oldest kept entry's seq - 1), and a
-- finished call's history is given the record's retention.
--
-- KEYS[1] call hash  KEYS[2] dedup marker  KEYS[3] outbox stream  KEYS[4] record
-- KEYS[5] history list (all {callId})
-- ARGV[1] expected version   ARGV[2] snapshot JSON   ARGV[3] dedup TTL ms ('' = no dedup)
-- ARGV[4] machine version    ARGV[5] state name      ARGV[6] status ('active' | 'done')
-- ARGV[7] retention ms of a finished call            ARGV[8] media may be persisted ('1'|'0')
-- ARGV[9] compact record JSON ('' = none)            ARGV[10] record retention ms
-- ARGV[11] trace carrier JSON of the call's first trace ('' = none; kept from the first commit)
-- ARGV[12] generation of the latest stop of persisting ('' = none), for the media process
-- ARGV[13] history entry JSON      ARGV[14] history cap (entries kept)
-- ARGV[15] summary JSON of the call for the operator's list ('' = none)
-- ARGV[16..] effect records (JSON)
-- returns {newVersion, 'ok', outboxId...} | {-1, 'duplicate'} | {-2, currentVersion}
if ARGV[3] ~= '' and redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3]) == false then
  return {-1, 'duplicate'}
end
local cur = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if cur ~= tonumber(ARGV[1]) then
  -- let the retry claim the marker again
  if ARGV[3] ~= '' then redis.call('DEL', KEYS[2]) end
  return {-2, tostring(cur)}
end
local nextVersion = cur + 1
redis.call('HSET', KEYS[1], 'v', nextVersion, 'snap', ARGV[2], 'mv', ARGV[4],
  'state', ARGV[5], 'status', ARGV[6], 'persist', ARGV[8], 'stop', ARGV[12], 'sum', ARGV[15])
if redis.call('RPUSH', KEYS[5], ARGV[13]) > tonumber(ARGV[14]) then
  redis.call('LTRIM', KEYS[5], -tonumber(ARGV[14]), -1)
end
if ARGV[11] ~= '' then redis.call('HSETNX', KEYS[1], 'trace', ARGV[11]) end
local result = {nextVersion, 'ok'}
for i = 16, #ARGV do
  result[#result + 1] = redis.call('XADD', KEYS[3], '*', 'effect', ARGV[i])
end
if ARGV[6] == 'done' then
  redis.call('PEXPIRE', KEYS[1], ARGV[7])
  redis.call('PEXPIRE', KEYS[3], ARGV[7])
  redis.call('PEXPIRE', KEYS[5], ARGV[9] ~= '' and ARGV[10] or ARGV[7])
end
if ARGV[9] ~= '' then
  redis.call('SET', KEYS[4], ARGV[9], 'PX', ARGV[10])
end
return result
