/**
 * The outbox sweeper (docs/architecture.md#effects-follow-commits). `applyEvent` announces a call
 * in the outbox index before committing effects, commits them to the call's outbox atomically
 * with the transition, enqueues them and acks them. A process that dies between the commit and
 * the enqueue leaves entries behind; every replica runs this loop, which re-drives entries
 * older than `graceMs` (deterministic job ids make a second enqueue a no-op) and then drops
 * the call from the index — only if nobody announced it again meanwhile (compare-and-delete on
 * its score), so a commit in flight is never forgotten.
 *
 * The same index holds calls whose timer starts are deferred (src/calls/runtime.ts,
 * `deferTimers`), each at the score where its start is to be handed over: a visit hands the due
 * ones to BullMQ and moves the call to the next one, or drops it when none is left.
 *
 * Assumes replica clocks agree to well within `graceMs` (index scores are writer time).
 */
import { every } from '../process/periodic.js';
import type { RedisClient } from '../redis/client.js';
import { rescoreIfUnchangedScript } from '../redis/scripts.js';
import type { Logger } from 'pino';
import type { EffectQueues } from '../queues/producer.js';
import { ATTR, withSpan } from '../telemetry/index.js';
import { outboxIndexKey } from '../redis/keys.js';
import type { SnapshotStore } from './snapshot-store.js';

/** Outbox entries read per round trip. */
const PAGE = 100;
export const SWEEP_INTERVAL_MS_DEFAULT = 500;
export const SWEEP_GRACE_MS_DEFAULT = 1000;
/** Calls visited side by side in a pass. */
const PARALLEL = 16;
/** Batches of due calls one pass takes at most. */
const MAX_PAGES = 10;

export interface OutboxSweeperOptions {
  redis: RedisClient;
  prefix: string;
  store: Pick<SnapshotStore, 'readOutbox' | 'ackOutbox' | 'readDeferred' | 'dropDeferred'>;
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

/**
 * How long before it is due a deferred timer start is handed to BullMQ: two sweep intervals and
 * a second, so that a pass that comes late or a slow hand-over still leaves the delayed job time.
 */
export const deferLeadMs = (intervalMs: number): number => 2 * intervalMs + 1000;

export interface OutboxSweeper {
  /** One pass; resolves to the number of effects re-driven. */
  sweep(): Promise<number>;
  close(): Promise<void>;
}

export function startOutboxSweeper(options: OutboxSweeperOptions): OutboxSweeper {
  const { redis, prefix, store, queues, logger } = options;
  const intervalMs = options.intervalMs ?? SWEEP_INTERVAL_MS_DEFAULT;
  const graceMs = options.graceMs ?? SWEEP_GRACE_MS_DEFAULT;
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
    // deferred timer starts whose score has come: to BullMQ (a second hand-over, after a crash
    // between these steps, is a no-op by job id or a stale fire the machine ignores)
    const cutoff = now() - graceMs;
    const deferred = await store.readDeferred(callId);
    const due = deferred.filter((d) => d.score <= cutoff);
    for (const { effect } of due) await queues.enqueue(effect);
    await store.dropDeferred(
      callId,
      due.map((d) => d.effect.jobId),
    );
    const later = deferred.filter((d) => d.score > cutoff).map((d) => d.score);
    const next = later.length > 0 ? Math.min(...later) : '';
    await rescoreIfUnchangedScript.run(redis, [index], [callId, score, next]);
    return redriven;
  }

  async function sweep(): Promise<number> {
    let redriven = 0;
    const visit = async ([callId, score]: [string, string]): Promise<void> => {
      try {
        redriven += await sweepCall(callId, score);
      } catch (error) {
        logger.warn({ err: error, callId }, 'outbox: sweeping a call failed; next pass retries');
      }
    };
    // a full batch means more are due (many deferred timers coming due at once): go on, each
    // visited call having left the due range, up to a bound per pass
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const due = await redis.zrangebyscore(
        index,
        '-inf',
        now() - graceMs,
        'WITHSCORES',
        'LIMIT',
        0,
        batch,
      );
      const calls: [string, string][] = [];
      for (let i = 0; i + 1 < due.length; i += 2) calls.push([due[i]!, due[i + 1]!]);
      for (let i = 0; i < calls.length; i += PARALLEL) {
        await Promise.all(calls.slice(i, i + PARALLEL).map(visit));
      }
      if (calls.length < batch) break;
    }
    return redriven;
  }

  const loop = every(intervalMs, sweep, logger, 'outbox sweep');
  return {
    sweep,
    close: () => loop.close(),
  };
}
