/**
 * The outbox sweeper (docs/architecture.md#effects-follow-commits). `applyEvent` announces a call
 * in the outbox index before committing effects, commits them to the call's outbox atomically
 * with the transition, enqueues them and acks them. A process that dies between the commit and
 * the enqueue leaves entries behind; every replica runs this loop, which re-drives entries
 * older than `graceMs` (deterministic job ids make a second enqueue a no-op) and then drops
 * the call from the index — only if nobody announced it again meanwhile (compare-and-delete on
 * its score), so a commit in flight is never forgotten.
 *
 * Assumes replica clocks agree to well within `graceMs` (index scores are writer time).
 */
import { every } from '../process/periodic.js';
import type { RedisClient } from '../redis/client.js';
import { forgetIfUnchangedScript } from '../redis/scripts.js';
import type { Logger } from 'pino';
import type { EffectQueues } from '../queues/producer.js';
import { ATTR, withSpan } from '../telemetry/index.js';
import { outboxIndexKey } from '../redis/keys.js';
import type { SnapshotStore } from './snapshot-store.js';

/** Outbox entries read per round trip. */
const PAGE = 100;

export interface OutboxSweeperOptions {
  redis: RedisClient;
  prefix: string;
  store: Pick<SnapshotStore, 'readOutbox' | 'ackOutbox'>;
  queues: Pick<EffectQueues, 'enqueue'>;
  logger: Logger;
  /** @default 500 */
  intervalMs?: number;
  /**
   * Entries younger than this belong to a commit whose own enqueue may still be running. @default
   * 1000
   */
  graceMs?: number;
  /** Calls looked at per pass. @default 200 */
  batch?: number;
  now?: () => number;
}

export interface OutboxSweeper {
  /** One pass; resolves to the number of effects re-driven. */
  sweep(): Promise<number>;
  close(): Promise<void>;
}

export function startOutboxSweeper(options: OutboxSweeperOptions): OutboxSweeper {
  const { redis, prefix, store, queues, logger } = options;
  const intervalMs = options.intervalMs ?? 500;
  const graceMs = options.graceMs ?? 1000;
  const batch = options.batch ?? 200;
  const now = options.now ?? Date.now;
  const index = outboxIndexKey(prefix);

  /**
   * Every entry of a call announced more than `graceMs` ago is re-driven. One that a live
   * process committed a moment ago may be among them; enqueuing it twice is a no-op
   * (deterministic job ids; a timer start that overtakes its cancel removes itself).
   */
  async function sweepCall(callId: string, score: string): Promise<number> {
    let redriven = 0;
    for (;;) {
      const stale = await store.readOutbox(callId, PAGE);
      if (stale.length === 0) break;
      await withSpan(
        'outbox re-drive',
        { attributes: { [ATTR.callId]: callId, [ATTR.effects]: stale.length } },
        async () => {
          for (const entry of stale) await queues.enqueue(entry.effect);
          await store.ackOutbox(
            callId,
            stale.map((e) => e.id),
          );
        },
      );
      redriven += stale.length;
      if (stale.length < PAGE) break;
    }
    if (redriven > 0)
      logger.warn({ callId, effects: redriven }, 'outbox: re-drove effects a dead process left');
    await forgetIfUnchangedScript.run(redis, [index], [callId, score]);
    return redriven;
  }

  async function sweep(): Promise<number> {
    const due = await redis.zrangebyscore(
      index,
      '-inf',
      now() - graceMs,
      'WITHSCORES',
      'LIMIT',
      0,
      batch,
    );
    let redriven = 0;
    for (let i = 0; i + 1 < due.length; i += 2) {
      try {
        redriven += await sweepCall(due[i]!, due[i + 1]!);
      } catch (error) {
        logger.warn(
          { err: error, callId: due[i] },
          'outbox: sweeping a call failed; next pass retries',
        );
      }
    }
    return redriven;
  }

  const loop = every(intervalMs, sweep, logger, 'outbox sweep');
  return {
    sweep,
    close: () => loop.close(),
  };
}
