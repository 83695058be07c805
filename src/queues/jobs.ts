/**
 * The contract between the call runtime (producer) and workers/ (consumers): queue names, job
 * data and the effect records that the commit script writes to a call's outbox.
 */
import type { CallEventType, RejectReason } from '../../machines/call.js';

export const QUEUE = { graph: 'graph', timers: 'timers' } as const;
export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

export type GraphJob =
  | { op: 'answer'; callId: string; tenantId: string; deadlineAt: number }
  | { op: 'reject'; callId: string; tenantId: string; reason: RejectReason; deadlineAt: number };

export interface TimerJob {
  callId: string;
  timerId: string;
  event: Extract<CallEventType, `TIMER.${string}`>;
}

/**
 * A durable effect: what to enqueue, with a job id that is the same however often the
 * effect is re-driven (so BullMQ collapses duplicates).
 */
export type EffectRecord =
  | { queue: typeof QUEUE.graph; name: GraphJob['op']; jobId: string; data: GraphJob }
  | { queue: typeof QUEUE.timers; name: string; jobId: string; data: TimerJob; fireAt: number };
