/** A test file's own core (Redis connections, store, runtime, queues) on a fresh key prefix. */
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { createCore, type Core, type CoreConfig } from '../../src/roles/core.js';
import { deleteByPrefix, plainRedis, testRedisUrl, uniquePrefix } from './redis.js';

export interface FileCore {
  readonly prefix: string;
  /** Set before the file's tests run. */
  readonly core: Core;
  /** A plain connection for reading keys directly. */
  readonly redis: Redis;
}

/**
 * Creates the core before the file's tests and, after them, empties its queues, closes it
 * (writing what it still held) and deletes every key under its prefix.
 */
export function fileCore(
  name: string,
  config: Omit<Partial<CoreConfig>, 'redisUrl' | 'redisKeyPrefix'> = {},
): FileCore {
  const state = { prefix: uniquePrefix(name) } as { prefix: string; core: Core; redis: Redis };
  beforeAll(async () => {
    state.core = createCore(
      { redisUrl: testRedisUrl(), redisKeyPrefix: state.prefix, ...config },
      pino({ level: 'silent' }),
    );
    await state.core.ready();
    state.redis = plainRedis();
  });
  afterAll(async () => {
    await state.core.queues.timers.obliterate({ force: true }).catch(() => undefined);
    await state.core.queues.graph.obliterate({ force: true }).catch(() => undefined);
    await state.core.close();
    await deleteByPrefix(state.redis, state.prefix);
    await state.redis.quit();
  });
  return state;
}
