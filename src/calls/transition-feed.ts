/**
 * The feed of committed transitions every replica's operator stream reads
 * (`GET /admin/api/events`): a capped Redis stream, one entry per commit, written after the
 * commit (the stream is global, so the commit script, which touches only the call's own
 * `{callId}` keys, cannot write it). The runtime's entries ride with the next commit's round trip
 * (or go within the store's ack delay, 50 ms by default), so the feed costs no round trip of its
 * own on a busy replica. It is a live view, not the record: a process that dies between its
 * commit and this write leaves that one transition out of the feed, never out of the call's
 * history. Also the one log line per transition, and a warning with the cause in
 * words when a call fails.
 */
import type { Logger } from 'pino';
import type { RedisClient } from '../redis/client.js';
import { transitionsKey } from '../redis/keys.js';
import type { CallFailure } from './call-summary.js';
import type { SnapshotStore } from './snapshot-store.js';
import type { HistoryEntry } from './history.js';

/** One committed transition as the operator's feed carries it. */
export interface TransitionEvent extends HistoryEntry {
  callId: string;
  tenantId: string;
  /** False once the call is finished. */
  live: boolean;
}

export interface TransitionFeed {
  /** Append one transition now; resolves to its stream id. */
  publish(event: TransitionEvent): Promise<string>;
  /**
   * Append one transition with the store's next round trip (best effort, in order); without a
   * store, at once (a failure is only logged).
   */
  publishSoon(event: TransitionEvent): void;
}

/**
 * @param max entries kept (approximately: `MAXLEN ~`, which trims whole nodes cheaply)
 * @param store the snapshot store whose round trips `publishSoon` rides
 */
export function transitionFeed(
  redis: RedisClient,
  prefix: string,
  max: number,
  store?: Pick<SnapshotStore, 'appendSoon'>,
  logger?: Logger,
): TransitionFeed {
  const key = transitionsKey(prefix);
  const publish = async (event: TransitionEvent) =>
    (await redis.xadd(key, 'MAXLEN', '~', max, '*', 'data', JSON.stringify(event))) ?? '';
  return {
    publish,
    publishSoon(event) {
      if (store) return store.appendSoon(key, max, JSON.stringify(event));
      publish(event).catch((error: unknown) => {
        logger?.warn({ err: error, callId: event.callId }, 'transition not published to the feed');
      });
    },
  };
}

/**
 * The one info line of a committed transition (call id, tenant id, event, from → to, outcome,
 * trace id; never an identity), and a warning with the cause in words when this transition is
 * the one that made the call fail.
 */
export function logTransition(
  logger: Logger,
  event: TransitionEvent,
  failure: CallFailure | undefined,
  failedBefore: boolean,
): void {
  const line = {
    callId: event.callId,
    tenantId: event.tenantId,
    event: event.event,
    from: event.from,
    to: event.to,
    version: event.seq,
    ...(event.outcome ? { outcome: event.outcome } : {}),
    ...(event.traceId ? { traceId: event.traceId } : {}),
  };
  logger.info(line, `call ${event.from} → ${event.to} on ${event.event}`);
  if (failure && !failedBefore) {
    logger.warn(
      { ...line, failureKind: failure.kind, ...(failure.code ? { code: failure.code } : {}) },
      `call failed: ${failure.text}`,
    );
  }
}
