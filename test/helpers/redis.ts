/** Real Redis for tests: a unique key prefix per test file, removed again afterwards. */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export const testRedisUrl = (): string => process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const uniquePrefix = (name: string): string => `t-${name}-${randomUUID().slice(0, 8)}`;

export async function deleteByPrefix(redis: Redis, prefix: string): Promise<void> {
  for (const pattern of [`${prefix}:*`, `{${prefix}-q}*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  }
}

export function plainRedis(): Redis {
  return new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
}
