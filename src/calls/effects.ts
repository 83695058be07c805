/**
 * Pure mapping from the actions a transition returned to durable effect records. Job ids are
 * derived from the call, the effect and the version the transition commits, so re-driving the
 * same outbox entry never creates a second job (BullMQ ids may not contain ':').
 */
import type { AnswerEffect, RejectEffect, TimerEffect } from '../../machines/call.js';
import { QUEUE, type EffectRecord } from '../queues/jobs.js';

export interface ReturnedAction {
  type: string;
  params?: unknown;
}

export function toEffectRecords(
  callId: string,
  version: number,
  actions: readonly ReturnedAction[],
): EffectRecord[] {
  const records: EffectRecord[] = [];
  for (const action of actions) {
    switch (action.type) {
      case 'graph.answer': {
        const p = action.params as AnswerEffect;
        records.push({
          queue: QUEUE.graph,
          name: 'answer',
          jobId: `${callId}-answer-v${version}`,
          data: { op: 'answer', callId: p.callId, tenantId: p.tenantId, deadlineAt: p.deadlineAt },
        });
        break;
      }
      case 'graph.reject': {
        const p = action.params as RejectEffect;
        records.push({
          queue: QUEUE.graph,
          name: 'reject',
          jobId: `${callId}-reject-v${version}`,
          data: { op: 'reject', ...p },
        });
        break;
      }
      case 'timer.start': {
        const p = action.params as TimerEffect;
        records.push({
          queue: QUEUE.timers,
          name: p.timerId,
          jobId: `${callId}-${p.timerId}-v${version}`,
          data: { callId, timerId: p.timerId, event: p.event },
          fireAt: p.fireAt,
        });
        break;
      }
      default:
        // xstate.raise without delay was already applied inside the macrostep (library-notes
        // §1.2.6); the machine declares no other effect.
        break;
    }
  }
  return records;
}
