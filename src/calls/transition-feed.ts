/**
 * The feed of committed transitions every replica's operator stream reads
 * (`GET /admin/api/events`): a capped Redis stream, one entry per commit, written right after
 * the commit (the stream is global, so the commit script, which touches only the call's own
 * `{callId}` keys, cannot write it). It is a live view, not the record: a process that dies
 * between its commit and this write leaves that one transition out of the feed, never out of
 * the call's history. Also the one log line per transition, and a warning with the cause in
 * words when a call fails.
 */
import type { Logger } from 'pino';
import type { RedisClient } from '../redis/client.js';
import { transitionsKey } from '../redis/keys.js';
import type { CallFailure } from './call-summary.js';
import type { HistoryEntry } from './history.js';

/** One committed transition as the operator's feed carries it. */
export interface TransitionEvent extends HistoryEntry {
  callId: string;
  tenantId: string;
  /** False once the call is finished. */
  live: boolean;
}

export interface TransitionFeed {
  /** Append one transition; resolves to its stream id. */
  publish(event: TransitionEvent): Promise<string>;
}

/** @param max entries kept (approximately: `MAXLEN ~`, which trims whole nodes cheaply) */
export function transitionFeed(redis: RedisClient, prefix: string, max: number): TransitionFeed {
  const key = transitionsKey(prefix);
  return {
    async publish(event) {
      const id = await redis.xadd(key, 'MAXLEN', '~', max, '*', 'data', JSON.stringify(event));
      return id ?? '';
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
