/**
 * What every process role shares: Redis connections, the snapshot store, the effect queues
 * and the call runtime. Called by the composition roots (src/main.ts, workers/main.ts) and by
 * tests; it creates no singletons.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { createCallRuntime, type CallRuntime } from './calls/runtime.js';
import { createSnapshotStore, type SnapshotStore } from './calls/snapshot-store.js';
import { createEffectQueues, type EffectQueues } from './queues/producer.js';

export interface Core {
  /** Commands of the call runtime; fails fast while Redis is unreachable. */
  redis: Redis;
  store: SnapshotStore;
  queues: EffectQueues;
  runtime: CallRuntime;
  /** A fresh connection suitable for BullMQ workers (`maxRetriesPerRequest: null`). */
  workerConnection(): Redis;
  /** Resolves once the command connection is ready (the offline queue is off). */
  ready(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export type CoreConfig = Pick<Config, 'redisUrl' | 'redisKeyPrefix'> &
  Partial<Pick<Config, 'callRetentionMs' | 'recordRetentionMs'>>;

export function createCore(config: CoreConfig, logger: Logger): Core {
  const redis = new Redis(config.redisUrl, {
    // The HTTP path must not hang on a dead Redis: fail the request (503) instead.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    lazyConnect: false,
  });
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  const opened: Redis[] = [redis];
  const store = createSnapshotStore(redis, {
    prefix: config.redisKeyPrefix,
    ...(config.callRetentionMs ? { retentionMs: config.callRetentionMs } : {}),
    ...(config.recordRetentionMs ? { recordRetentionMs: config.recordRetentionMs } : {}),
  });
  const queues = createEffectQueues(redis, config.redisKeyPrefix);
  queues.graph.on('error', (err) => logger.warn({ err: err.message }, 'graph queue error'));
  queues.timers.on('error', (err) => logger.warn({ err: err.message }, 'timers queue error'));
  const runtime = createCallRuntime({
    redis,
    prefix: config.redisKeyPrefix,
    store,
    queues,
    onEnqueueError: (err, callId) =>
      logger.error({ err, callId }, 'effects committed but not enqueued; left in the outbox'),
  });
  let closed: Promise<void> | undefined;
  return {
    redis,
    store,
    queues,
    runtime,
    async ready(timeoutMs = 10_000) {
      if (redis.status === 'ready') return;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          redis.off('ready', onReady);
          reject(new Error(`Redis at ${config.redisUrl} not ready after ${timeoutMs} ms`));
        }, timeoutMs);
        const onReady = () => {
          clearTimeout(timer);
          resolve();
        };
        redis.once('ready', onReady);
      });
    },
    workerConnection() {
      const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
      connection.on('error', (err: Error) =>
        logger.warn({ err: err.message }, 'redis worker connection error'),
      );
      opened.push(connection);
      return connection;
    },
    close: () =>
      (closed ??= (async () => {
        await queues.close();
        await Promise.all(opened.map((c) => c.quit().catch(() => c.disconnect())));
      })()),
  };
}
