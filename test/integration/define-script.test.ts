/**
 * `defineScript` against a real Redis: the script text is sent only when the server does not
 * hold it (the first call, and again after SCRIPT FLUSH), every other call is an EVALSHA, and
 * the typed tuples refuse a wrong number of keys or arguments. The test owns a private
 * redis-server, because it flushes the script cache and counts commands server-wide.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPrivateRedis, type LocalRedis } from '../../src/dev/local-redis.js';
import { reply } from '../../src/redis/define-script.js';
import {
  forgetIfUnchangedScript,
  mediaEndIfStillLostScript,
  mediaResumeScript,
} from '../../src/redis/scripts.js';

let server: LocalRedis;
let redis: Redis;

beforeAll(async () => {
  server = await startPrivateRedis();
  redis = new Redis(server.url);
});
afterAll(async () => {
  await redis?.quit();
  await server?.stop();
});
beforeEach(async () => {
  await redis.flushall();
  await redis.script('FLUSH');
  await redis.config('RESETSTAT');
});

/** Calls of EVAL and EVALSHA the server has counted since the last RESETSTAT. */
async function scriptCalls(): Promise<{ eval: number; evalsha: number }> {
  const stats = await redis.info('commandstats');
  const calls = (name: string) =>
    Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  return { eval: calls('eval'), evalsha: calls('evalsha') };
}

describe('defineScript', () => {
  it('sends the script text once, then only its SHA, and again after SCRIPT FLUSH', async () => {
    await redis.zadd('set', 5, 'a', 7, 'b');
    expect(await forgetIfUnchangedScript.run(redis, ['set'], ['a', '5'])).toBe(true);
    expect(await forgetIfUnchangedScript.run(redis, ['set'], ['b', '6'])).toBe(false);
    for (let i = 0; i < 5; i += 1) await forgetIfUnchangedScript.run(redis, ['set'], ['x', '1']);
    expect(await redis.zrange('set', '0', '-1')).toEqual(['b']);
    // 7 calls: one NOSCRIPT answered by EVAL, every later one an EVALSHA that hit
    expect(await scriptCalls()).toEqual({ eval: 1, evalsha: 7 });
    expect(await redis.script('EXISTS', forgetIfUnchangedScript.sha)).toEqual([1]);

    await redis.script('FLUSH');
    expect(await forgetIfUnchangedScript.run(redis, ['set'], ['b', '7'])).toBe(true);
    expect(await redis.zcard('set')).toBe(0);
    expect(await scriptCalls()).toEqual({ eval: 2, evalsha: 8 });
  });

  it('decodes replies into their declared types', async () => {
    await redis.hset('media', 'sessionId', 's1', 'state', 'lost', 'lostAt', '1000');
    expect(await mediaResumeScript.run(redis, ['media'], ['s2', 'p1', 1500, 5000])).toBe(
      'unknown-session',
    );
    expect(await mediaResumeScript.run(redis, ['media'], ['s1', 'p1', 9000, 5000])).toBe('expired');
    expect(await mediaResumeScript.run(redis, ['media'], ['s1', 'p1', 1500, 5000])).toBe('ok');
    expect(await redis.hgetall('media')).toEqual({
      sessionId: 's1',
      state: 'streaming',
      owner: 'p1',
    });
    expect(await mediaResumeScript.run(redis, ['media'], ['s1', 'p2', 1500, 5000])).toBe('live');
    expect(await mediaEndIfStillLostScript.run(redis, ['media'], ['s1', 1000])).toBe(false);
  });

  it('refuses a reply of another shape instead of passing it on', () => {
    expect(() => reply.integer('1')).toThrow(TypeError);
    expect(() => reply.oneOf('ok', 'live')('lost')).toThrow(TypeError);
    expect(() => reply.array([1, ['nested']])).toThrow(TypeError);
    expect(reply.array([3, 'ok', '1-0'])).toEqual([3, 'ok', '1-0']);
  });

  it('does not compile a call with a wrong number of keys or arguments', async () => {
    // npm run typecheck fails when any of these lines compiles
    // @ts-expect-error no key
    const noKey = forgetIfUnchangedScript.run(redis, [], ['a', '1']);
    // @ts-expect-error two keys
    void forgetIfUnchangedScript.run(redis, ['set', 'other'], ['a', '1']).catch(() => undefined);
    // @ts-expect-error an argument short
    void forgetIfUnchangedScript.run(redis, ['set'], ['a']).catch(() => undefined);
    // @ts-expect-error an argument of the wrong type
    void mediaResumeScript.run(redis, ['media'], ['s1', 'p1', '1500', 5000]).catch(() => undefined);
    // and what the type refuses, Redis would have refused as well
    await expect(noKey).rejects.toThrow(/arguments must be strings or integers|ERR/);
  });
});
