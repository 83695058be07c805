-- The one atomic step of every transition: compare-and-set the call's snapshot on its version,
-- claim the delivery's dedup token, append the transition's effects to the call's outbox, and for
-- a finished call set the retention and write its compact record — all or nothing
-- (docs/architecture.md#one-transition-at-a-time, #duplicates-are-harmless,
-- #effects-follow-commits).
--
-- The transition's history entry is appended to the call's history list in the same step
-- (capped: the oldest entries go; their count is the oldest kept entry's seq - 1), and a
-- finished call's history is given the record's retention.
--
-- Dedup tokens live in the call hash's `dd` field, not in keys of their own: "<token>=<expiry s>"
-- entries separated by spaces, oldest first, each kept through the second of its expiry (so for
-- at least its lifetime); a commit with a token drops the expired ones and keeps at most ARGV[20]
-- (its own included), so the field stays bounded however long the call lives.
--
-- KEYS[1] call hash  KEYS[2] outbox stream  KEYS[3] record  KEYS[4] history list
-- KEYS[5] deferred timer starts (hash jobId → "<score> <effect>")
-- KEYS[6..] markers of the timers this transition cancels (all {callId}; see queues/producer.ts)
-- ARGV[1] expected version   ARGV[2] snapshot JSON   ARGV[3] dedup token ('' = no dedup)
-- ARGV[4] machine version    ARGV[5] state name      ARGV[6] status ('active' | 'done')
-- ARGV[7] retention ms of a finished call            ARGV[8] media may be persisted ('1'|'0')
-- ARGV[9] compact record JSON ('' = none)            ARGV[10] record retention ms
-- ARGV[11] trace carrier JSON of the call's first trace ('' = none; kept from the first commit)
-- ARGV[12] generation of the latest stop of persisting ('' = none), for the media process
-- ARGV[13] the transition's effect records as one JSON array ('' = none): one outbox entry
-- ARGV[14] how long a timer cancel is remembered, s ('' when there is none)
-- ARGV[15] history entry JSON      ARGV[16] history cap (entries kept)
-- ARGV[17] summary JSON of the call for the operator's list
-- ARGV[18] now, s (the caller's clock)   ARGV[19] dedup token lifetime, s
-- ARGV[20] dedup tokens kept at most
-- ARGV[21] n, the number of timer starts deferred by this transition; ARGV[22 .. 21+2n] their
--          jobId, "<score> <effect>" pairs; then the job ids of the cancels, one per KEYS[6..]
-- returns {newVersion, 'ok', outboxId or '', job ids of cancels whose start was still deferred...}
--       | {-1, 'duplicate'} | {-2, currentVersion}
--
-- A cancel whose start is still deferred drops it: that start never reaches BullMQ, so the
-- cancel needs neither its marker nor a removal (the caller skips it).
--
-- Every redis.call here is a server command on the hot path (docs/benchmarks.md, B3): the
-- first commit's trace, the summary and the dedup tokens ride in the HSET, and a transition's
-- effects share one stream entry.
local token = ARGV[3]
local stored = redis.call('HMGET', KEYS[1], 'v', 'dd')
local now = tonumber(ARGV[18])
local kept = {}
if token ~= '' and stored[2] then
  for t, expiry in string.gmatch(stored[2], '([%w_-]+)=(%d+)') do
    if tonumber(expiry) >= now then
      if t == token then return {-1, 'duplicate'} end
      kept[#kept + 1] = t .. '=' .. expiry
    end
  end
end
local cur = tonumber(stored[1] or '0')
if cur ~= tonumber(ARGV[1]) then
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
if token ~= '' then
  local first = math.max(1, #kept - tonumber(ARGV[20]) + 2)
  local tokens = {}
  for i = first, #kept do tokens[#tokens + 1] = kept[i] end
  tokens[#tokens + 1] = token .. '=' .. (now + tonumber(ARGV[19]))
  fields[#fields + 1] = 'dd'
  fields[#fields + 1] = table.concat(tokens, ' ')
end
redis.call('HSET', KEYS[1], unpack(fields))
if redis.call('RPUSH', KEYS[4], ARGV[15]) > tonumber(ARGV[16]) then
  redis.call('LTRIM', KEYS[4], -tonumber(ARGV[16]), -1)
end
local result = {nextVersion, 'ok', ''}
if ARGV[13] ~= '' then
  result[3] = redis.call('XADD', KEYS[2], '*', 'effects', ARGV[13])
end
local deferred = tonumber(ARGV[21])
local cancels = 21 + 2 * deferred
for i = 6, #KEYS do
  local jobId = ARGV[cancels + i - 5]
  if redis.call('HDEL', KEYS[5], jobId) == 1 then
    result[#result + 1] = jobId
  else
    redis.call('SET', KEYS[i], '1', 'EX', ARGV[14])
  end
end
for i = 1, deferred do
  redis.call('HSET', KEYS[5], ARGV[20 + 2 * i], ARGV[21 + 2 * i])
end
if ARGV[6] == 'done' then
  redis.call('PEXPIRE', KEYS[1], ARGV[7])
  redis.call('PEXPIRE', KEYS[2], ARGV[7])
  redis.call('PEXPIRE', KEYS[5], ARGV[7])
  redis.call('PEXPIRE', KEYS[4], ARGV[9] ~= '' and ARGV[10] or ARGV[7])
end
if ARGV[9] ~= '' then
  redis.call('SET', KEYS[3], ARGV[9], 'PX', ARGV[10])
end
return result
