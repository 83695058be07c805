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
-- KEYS[5] history list       KEYS[6] deferred timer starts (hash jobId → "<score> <effect>")
-- KEYS[7..] markers of the timers this transition cancels (all {callId}; see queues/producer.ts)
-- ARGV[1] expected version   ARGV[2] snapshot JSON   ARGV[3] dedup TTL ms ('' = no dedup)
-- ARGV[4] machine version    ARGV[5] state name      ARGV[6] status ('active' | 'done')
-- ARGV[7] retention ms of a finished call            ARGV[8] media may be persisted ('1'|'0')
-- ARGV[9] compact record JSON ('' = none)            ARGV[10] record retention ms
-- ARGV[11] trace carrier JSON of the call's first trace ('' = none; kept from the first commit)
-- ARGV[12] generation of the latest stop of persisting ('' = none), for the media process
-- ARGV[13] the transition's effect records as one JSON array ('' = none): one outbox entry
-- ARGV[14] how long a timer cancel is remembered, s ('' when there is none)
-- ARGV[15] history entry JSON      ARGV[16] history cap (entries kept)
-- ARGV[17] summary JSON of the call for the operator's list
-- ARGV[18] n, the number of timer starts deferred by this transition; ARGV[19 .. 18+2n] their
--          jobId, "<score> <effect JSON>" pairs; then the job ids of the cancels, one per KEYS[7..]
-- returns {newVersion, 'ok', outboxId or '', job ids of cancels whose start was still deferred...}
--       | {-1, 'duplicate'} | {-2, currentVersion}
--
-- A cancel whose start is still deferred drops it: that start never reaches BullMQ, so the
-- cancel needs neither its marker nor a removal (the caller skips it).
--
-- Every redis.call here is a server command on the hot path (docs/benchmarks.md, B3): the
-- first commit's trace and the summary ride in the HSET, and a transition's effects share one
-- stream entry.
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
local fields = {'v', nextVersion, 'snap', ARGV[2], 'mv', ARGV[4], 'state', ARGV[5],
  'status', ARGV[6], 'persist', ARGV[8], 'stop', ARGV[12], 'sum', ARGV[17]}
-- the call's first trace: only a first commit (version 0) writes it
if ARGV[11] ~= '' and cur == 0 then
  fields[#fields + 1] = 'trace'
  fields[#fields + 1] = ARGV[11]
end
redis.call('HSET', KEYS[1], unpack(fields))
if redis.call('RPUSH', KEYS[5], ARGV[15]) > tonumber(ARGV[16]) then
  redis.call('LTRIM', KEYS[5], -tonumber(ARGV[16]), -1)
end
local result = {nextVersion, 'ok', ''}
if ARGV[13] ~= '' then
  result[3] = redis.call('XADD', KEYS[3], '*', 'effects', ARGV[13])
end
local deferred = tonumber(ARGV[18])
local cancels = 18 + 2 * deferred
for i = 7, #KEYS do
  local jobId = ARGV[cancels + i - 6]
  if redis.call('HDEL', KEYS[6], jobId) == 1 then
    result[#result + 1] = jobId
  else
    redis.call('SET', KEYS[i], '1', 'EX', ARGV[14])
  end
end
for i = 1, deferred do
  redis.call('HSET', KEYS[6], ARGV[17 + 2 * i], ARGV[18 + 2 * i])
end
if ARGV[6] == 'done' then
  redis.call('PEXPIRE', KEYS[1], ARGV[7])
  redis.call('PEXPIRE', KEYS[3], ARGV[7])
  redis.call('PEXPIRE', KEYS[6], ARGV[7])
  redis.call('PEXPIRE', KEYS[5], ARGV[9] ~= '' and ARGV[10] or ARGV[7])
end
if ARGV[9] ~= '' then
  redis.call('SET', KEYS[4], ARGV[9], 'PX', ARGV[10])
end
return result
