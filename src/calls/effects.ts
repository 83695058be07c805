/**
 * Pure mapping from the actions a transition returned to durable effect records. Job ids come
 * from the call, the effect and the machine's generation, so re-driving the same outbox entry
 * never creates a second job (BullMQ ids may not contain ':').
 */
import type {
  AnswerEffect,
  HangUpEffect,
  KeepAliveEffect,
  RecordingStatusEffect,
  RejectEffect,
  TimerCancelEffect,
  TimerEffect,
} from '../../machines/call.js';
import { QUEUE, type EffectRecord, type GraphJob } from '../queues/jobs.js';

export interface ReturnedAction {
  type: string;
  params?: unknown;
}

const graph = (jobId: string, data: GraphJob): EffectRecord => ({
  queue: QUEUE.graph,
  name: data.op,
  jobId,
  data,
});

export const timerJobId = (callId: string, timerId: string, gen: number): string =>
  `${callId}-${timerId}-g${gen}`;

export function toEffectRecords(
  callId: string,
  actions: readonly ReturnedAction[],
): EffectRecord[] {
  const records: EffectRecord[] = [];
  for (const action of actions) {
    switch (action.type) {
      case 'graph.answer': {
        const { gen, ...p } = action.params as AnswerEffect;
        records.push(graph(`${callId}-answer-g${gen}`, { op: 'answer', ...p }));
        break;
      }
      case 'graph.reject': {
        const { gen, ...p } = action.params as RejectEffect;
        records.push(graph(`${callId}-reject-g${gen}`, { op: 'reject', ...p }));
        break;
      }
      case 'graph.updateRecordingStatus': {
        const { gen, ...p } = action.params as RecordingStatusEffect;
        records.push(
          graph(`${callId}-recording-${p.status}-g${gen}`, { op: 'updateRecordingStatus', ...p }),
        );
        break;
      }
      case 'graph.keepAlive': {
        const { gen, ...p } = action.params as KeepAliveEffect;
        records.push(graph(`${callId}-keepAlive-g${gen}`, { op: 'keepAlive', ...p }));
        break;
      }
      case 'graph.hangUp': {
        const { gen, ...p } = action.params as HangUpEffect;
        records.push(graph(`${callId}-hangUp-g${gen}`, { op: 'hangUp', ...p }));
        break;
      }
      case 'timer.start': {
        const p = action.params as TimerEffect;
        records.push({
          queue: QUEUE.timers,
          name: p.timerId,
          jobId: timerJobId(callId, p.timerId, p.gen),
          data: { callId, timerId: p.timerId, event: p.event, gen: p.gen },
          fireAt: p.fireAt,
        });
        break;
      }
      case 'timer.cancel': {
        const p = action.params as TimerCancelEffect;
        records.push({
          queue: QUEUE.timers,
          name: 'cancel',
          jobId: timerJobId(callId, p.timerId, p.gen),
          callId,
        });
        break;
      }
      default:
        // xstate.raise without delay was already applied inside the macrostep, yet xstate still
        // lists it among the actions; the machine declares no other effect.
        break;
    }
  }
  return records;
}
