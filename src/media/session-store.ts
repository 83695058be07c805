/**
 * The media session registry in Redis, next to the call (same `{callId}` hash tag): which
 * session streams a call, whether it is lost and since when, and the single-use credential
 * nonces. Any media process can resume a session another one lost.
 */
import type { RedisClient } from '../redis/client.js';
import { callKeys } from '../calls/keys.js';

export type SessionState = 'streaming' | 'lost' | 'ended';

export interface MediaSessionStore {
  /** Claim a call credential's nonce; false when it was used before. */
  claimNonce(callId: string, nonce: string, ttlMs: number): Promise<boolean>;
  start(callId: string, sessionId: string, owner: string): Promise<void>;
  /** Take over a session for a resume; refused when unknown or ended. */
  resume(
    callId: string,
    sessionId: string,
    owner: string,
  ): Promise<'ok' | 'unknown-session' | 'ended'>;
  markLost(callId: string, sessionId: string, at: number): Promise<void>;
  /** End the session if it is still lost since `lostAt` (nobody resumed it); true if ended now. */
  endIfStillLost(callId: string, sessionId: string, lostAt: number): Promise<boolean>;
  markEnded(callId: string, sessionId: string): Promise<void>;
  /** The call's `persist` flag: media may be written only while it is '1'. */
  persistAllowed(callId: string): Promise<boolean>;
}

const END_IF_STILL_LOST = `
-- KEYS[1] media hash   ARGV[1] sessionId   ARGV[2] lostAt
if redis.call('HGET', KEYS[1], 'sessionId') == ARGV[1] and redis.call('HGET', KEYS[1], 'state') == 'lost'
   and redis.call('HGET', KEYS[1], 'lostAt') == ARGV[2] then
  redis.call('HSET', KEYS[1], 'state', 'ended')
  return 1
end
return 0
`;

const RESUME = `
-- KEYS[1] media hash   ARGV[1] sessionId   ARGV[2] owner
local id = redis.call('HGET', KEYS[1], 'sessionId')
if id ~= ARGV[1] then return 'unknown-session' end
if redis.call('HGET', KEYS[1], 'state') == 'ended' then return 'ended' end
redis.call('HSET', KEYS[1], 'state', 'streaming', 'owner', ARGV[2])
redis.call('HDEL', KEYS[1], 'lostAt')
return 'ok'
`;

export function createMediaSessionStore(
  redis: RedisClient,
  prefix: string,
  ttlMs = 86_400_000,
): MediaSessionStore {
  const keys = (callId: string) => callKeys(prefix, callId);
  return {
    async claimNonce(callId, nonce, nonceTtlMs) {
      return (
        (await redis.set(keys(callId).mediaNonce(nonce), '1', 'PX', nonceTtlMs, 'NX')) === 'OK'
      );
    },
    async start(callId, sessionId, owner) {
      const key = keys(callId).media;
      await redis
        .multi()
        .del(key)
        .hset(key, 'sessionId', sessionId, 'state', 'streaming', 'owner', owner)
        .pexpire(key, ttlMs)
        .exec();
    },
    async resume(callId, sessionId, owner) {
      const result = (await redis.eval(RESUME, 1, keys(callId).media, sessionId, owner)) as string;
      return result as 'ok' | 'unknown-session' | 'ended';
    },
    async markLost(callId, sessionId, at) {
      const key = keys(callId).media;
      if ((await redis.hget(key, 'sessionId')) !== sessionId) return;
      await redis.hset(key, 'state', 'lost', 'lostAt', String(at));
    },
    async endIfStillLost(callId, sessionId, lostAt) {
      return (
        (await redis.eval(END_IF_STILL_LOST, 1, keys(callId).media, sessionId, String(lostAt))) ===
        1
      );
    },
    async markEnded(callId, sessionId) {
      const key = keys(callId).media;
      if ((await redis.hget(key, 'sessionId')) === sessionId)
        await redis.hset(key, 'state', 'ended');
    },
    async persistAllowed(callId) {
      return (await redis.hget(keys(callId).call, 'persist')) === '1';
    },
  };
}
