/**
 * The one compare-and-delete the sweepers share: drop an index entry only if its score is
 * still the one the sweeper read, so an entry re-announced meanwhile is never forgotten.
 */
import type { RedisClient } from './client.js';

/** KEYS[1] sorted set; ARGV[1] member, ARGV[2] the score seen. Removes it only if unchanged. */
const FORGET_IF_UNCHANGED = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
`;

type ForgetFn = (key: string, member: string, score: string) => Promise<number>;

/** `forget(key, member, score)`: true when the entry was removed. */
export function forgetIfUnchanged(
  redis: RedisClient,
): (key: string, member: string, score: string) => Promise<boolean> {
  if (!('crForgetIfUnchanged' in redis)) {
    redis.defineCommand('crForgetIfUnchanged', { numberOfKeys: 1, lua: FORGET_IF_UNCHANGED });
  }
  const command = (redis as unknown as { crForgetIfUnchanged: ForgetFn }).crForgetIfUnchanged;
  return async (key, member, score) => (await command.call(redis, key, member, score)) === 1;
}
