/**
 * Pure mapping from the actions a transition returned to durable effect records, by one table:
 * for each effect of the machine, its queue, job name, job id and when it is due. Job ids come
 * from the call, the effect and the machine's generation, so re-driving the same outbox entry
 * never creates a second job (BullMQ ids may not contain ':').
 */
import type { CallEffect, EffectParams, EffectType } from '../../machines/call.js';
import { QUEUE, type EffectRecord, type GraphJob } from '../queues/jobs.js';

export interface ReturnedAction {
  type: string;
  params?: unknown;
}

export const timerJobId = (callId: string, timerId: string, gen: number): string =>
  `${callId}-${timerId}-g${gen}`;

/** A Graph job; nothing is sent after `data.deadlineAt` (the worker enforces it). */
const graphJob = (callId: string, key: string, gen: number, data: GraphJob): EffectRecord => ({
  queue: QUEUE.graph,
  name: data.op,
  jobId: `${callId}-${key}-g${gen}`,
  data,
});

/** Every effect → its job. Typed by the machine's effects, so an effect without a row fails tsc. */
const JOBS: { [K in EffectType]: (callId: string, params: EffectParams[K]) => EffectRecord } = {
  // a Graph job's data is the effect's params; `gen` is in the id
  'graph.answer': (callId, { gen, ...p }) =>
    graphJob(callId, 'answer', gen, { op: 'answer', ...p }),
  'graph.reject': (callId, { gen, ...p }) =>
    graphJob(callId, 'reject', gen, { op: 'reject', ...p }),
  'graph.updateRecordingStatus': (callId, { gen, ...p }) =>
    graphJob(callId, `recording-${p.recordingStatus}`, gen, { op: 'updateRecordingStatus', ...p }),
  'graph.keepAlive': (callId, { gen, ...p }) =>
    graphJob(callId, 'keepAlive', gen, { op: 'keepAlive', ...p }),
  'graph.hangUp': (callId, { gen, ...p }) =>
    graphJob(callId, 'hangUp', gen, { op: 'hangUp', ...p }),
  // due at `fireAt` (a delayed job); a stale fire is ignored by the machine's generation check
  'timer.start': (callId, p) => ({
    queue: QUEUE.timers,
    name: p.timerId,
    jobId: timerJobId(callId, p.timerId, p.gen),
    data: { callId, timerId: p.timerId, event: p.event, gen: p.gen },
    fireAt: p.fireAt,
  }),
  'timer.cancel': (callId, p) => ({
    queue: QUEUE.timers,
    name: 'cancel',
    jobId: timerJobId(callId, p.timerId, p.gen),
    callId,
    marked: true, // the commit writes the cancel marker (src/redis/lua/commit.lua)
  }),
};

/**
 * The machine's own actions (trail, roster, raise…) come back from `transition()` too; an
 * effect is one named in the table. Its params were checked against the name where the machine
 * enqueued it.
 */
const isEffect = (action: ReturnedAction): action is CallEffect => Object.hasOwn(JOBS, action.type);

const toRecord = <K extends EffectType>(
  callId: string,
  effect: { type: K; params: EffectParams[K] },
): EffectRecord => JOBS[effect.type](callId, effect.params);

export function toEffectRecords(
  callId: string,
  actions: readonly ReturnedAction[],
): EffectRecord[] {
  return actions.filter(isEffect).map((effect) => toRecord(callId, effect));
}
