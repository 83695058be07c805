/**
 * What every process role shares: Redis connections, the snapshot store, the effect queues
 * and the call runtime. Called by the composition roots (src/roles/ingress/main.ts, workers/main.ts) and by
 * tests; it creates no singletons.
 */
import type { Logger } from 'pino';
import { redactUrl, type Config } from '../config.js';
import { connectRedis, type RedisClient } from '../redis/client.js';
import {
  deferLeadMs,
  startOutboxSweeper,
  SWEEP_GRACE_MS_DEFAULT,
  SWEEP_INTERVAL_MS_DEFAULT,
  type OutboxSweeper,
} from '../calls/outbox-sweeper.js';
import { createCallRuntime, type CallRuntime } from '../calls/runtime.js';
import { createSnapshotStore, type SnapshotStore } from '../calls/snapshot-store.js';
import {
  createEffectQueues,
  RECENT_CALLS_MAX_DEFAULT,
  type EffectQueues,
} from '../queues/producer.js';
import { transitionFeed } from '../calls/transition-feed.js';

export interface Core {
  /** Commands of the call runtime; fails fast while Redis is unreachable. */
  redis: RedisClient;
  store: SnapshotStore;
  queues: EffectQueues;
  runtime: CallRuntime;
  /** A fresh connection suitable for BullMQ workers (`maxRetriesPerRequest: null`). */
  workerConnection(): RedisClient;
  /**
   * The outbox sweeper every ingress and worker process runs (src/calls/outbox-sweeper.ts);
   * the caller closes it before the core.
   */
  sweepOutbox(timing: Pick<Config, 'outboxSweepIntervalMs' | 'outboxGraceMs'>): OutboxSweeper;
  /** Resolves once the command connections are ready (their offline queues are off). */
  ready(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export type CoreConfig = Pick<Config, 'redisUrl' | 'redisKeyPrefix'> &
  Partial<
    Pick<
      Config,
      | 'redisCluster'
      | 'callRetentionMs'
      | 'recordRetentionMs'
      | 'faultCrashAfterCommit'
      | 'callHistoryMax'
      | 'transitionsStreamMax'
      | 'recentCallsMax'
      | 'outboxSweepIntervalMs'
      | 'outboxGraceMs'
      | 'deferTimers'
      | 'packSnapshots'
    >
  >;

/** Entries kept in the stream of transitions by default. */
const TRANSITIONS_STREAM_MAX_DEFAULT = 10_000;

/** Fault injection (`FAULT_CRASH_AFTER_COMMIT`): die like a killed process, after the commit. */
function crashAfter(eventType: string, logger: Logger) {
  logger.warn({ eventType }, 'FAULT_CRASH_AFTER_COMMIT is set: this process will kill itself');
  return (callId: string, event: { type: string }): void => {
    if (event.type !== eventType) return;
    logger.warn({ callId, eventType }, 'fault injection: SIGKILL after commit, before enqueue');
    process.kill(process.pid, 'SIGKILL');
  };
}

export function createCore(config: CoreConfig, logger: Logger): Core {
  const cluster = config.redisCluster ?? false;
  const redis = connectRedis(config.redisUrl, {
    cluster,
    // The HTTP path must not hang on a dead or hung Redis: fail the request (503) instead,
    // well before Teams' 5 s answer window is gone.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeoutMs: 1000,
  });
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  // a Cluster reports a failing node apart from 'error' (ioredis cluster/index.js)
  redis.on('node error', (err: Error, node: string) =>
    logger.warn({ err: err.message, node }, 'redis cluster node error'),
  );
  // BullMQ gets a connection of its own: it defines its ~50 scripts on the connection it is
  // given, and ioredis copies every defined script onto each pipeline it creates, which made
  // the commit's pipeline a visible share of the ingress's CPU on a shared connection.
  const queueConnection = connectRedis(config.redisUrl, {
    cluster,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeoutMs: 1000,
  });
  queueConnection.on('error', (err: Error) =>
    logger.warn({ err: err.message }, 'redis queue connection error'),
  );
  queueConnection.on('node error', (err: Error, node: string) =>
    logger.warn({ err: err.message, node }, 'redis queue cluster node error'),
  );
  const opened: RedisClient[] = [redis, queueConnection];
  const store = createSnapshotStore(redis, {
    prefix: config.redisKeyPrefix,
    ...(config.callRetentionMs ? { retentionMs: config.callRetentionMs } : {}),
    ...(config.recordRetentionMs ? { recordRetentionMs: config.recordRetentionMs } : {}),
    ...(config.callHistoryMax ? { historyMax: config.callHistoryMax } : {}),
    ...(config.packSnapshots === false ? { packRoster: false } : {}),
  });
  const queues = createEffectQueues(queueConnection, config.redisKeyPrefix, Date.now, redis, {
    recentCallsMax: config.recentCallsMax ?? RECENT_CALLS_MAX_DEFAULT,
    keepFinishedGraphJobs: config.packSnapshots === false,
  });
  queues.graph.on('error', (err) => logger.warn({ err: err.message }, 'graph queue error'));
  queues.timers.on('error', (err) => logger.warn({ err: err.message }, 'timers queue error'));
  const runtime = createCallRuntime({
    prefix: config.redisKeyPrefix,
    store,
    queues,
    // the sweepers of this deployment hand deferred timer starts to BullMQ (same defaults)
    ...(config.deferTimers === false
      ? {}
      : {
          deferTimers: {
            leadMs: deferLeadMs(config.outboxSweepIntervalMs ?? SWEEP_INTERVAL_MS_DEFAULT),
            graceMs: config.outboxGraceMs ?? SWEEP_GRACE_MS_DEFAULT,
          },
        }),
    onEnqueueError: (err, callId) =>
      logger.error({ err, callId }, 'effects committed but not enqueued; left in the outbox'),
    ...(config.faultCrashAfterCommit
      ? { afterCommit: crashAfter(config.faultCrashAfterCommit, logger) }
      : {}),
    ...(config.transitionsStreamMax === 0
      ? {}
      : {
          feed: transitionFeed(
            redis,
            config.redisKeyPrefix,
            config.transitionsStreamMax ?? TRANSITIONS_STREAM_MAX_DEFAULT,
            store,
            logger,
          ),
        }),
    logger,
  });
  let closed: Promise<void> | undefined;
  return {
    redis,
    store,
    queues,
    runtime,
    async ready(timeoutMs = 10_000) {
      await Promise.all(
        [redis, queueConnection].map(async (connection) => {
          if (connection.status === 'ready') return;
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => {
              connection.off('ready', onReady);
              reject(
                new Error(`Redis at ${redactUrl(config.redisUrl)} not ready after ${timeoutMs} ms`),
              );
            }, timeoutMs);
            const onReady = () => {
              clearTimeout(timer);
              resolve();
            };
            connection.once('ready', onReady);
          });
        }),
      );
    },
    sweepOutbox: (timing) =>
      startOutboxSweeper({
        redis,
        prefix: config.redisKeyPrefix,
        store,
        queues,
        logger,
        intervalMs: timing.outboxSweepIntervalMs,
        graceMs: timing.outboxGraceMs,
      }),
    workerConnection() {
      const connection = connectRedis(config.redisUrl, { cluster, maxRetriesPerRequest: null });
      connection.on('error', (err: Error) =>
        logger.warn({ err: err.message }, 'redis worker connection error'),
      );
      connection.on('node error', (err: Error, node: string) =>
        logger.warn({ err: err.message, node }, 'redis worker cluster node error'),
      );
      opened.push(connection);
      return connection;
    },
    close: () =>
      (closed ??= (async () => {
        // riders still waiting may need the queues (a timer's cancel check removes its job);
        // what an enqueue finishing during the close acknowledges goes in the second flush
        await store.flushAcks();
        await queues.close();
        await store.flushAcks();
        await Promise.all(opened.map((c) => c.quit().catch(() => c.disconnect())));
      })()),
  };
}
