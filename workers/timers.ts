/**
 * The `timers` queue: durable deadlines (answer deadline, keep-alive, media arrival). A delayed
 * job fires and delivers its event, with the generation it was armed with, through
 * `applyEvent`; the machine ignores a fire whose generation is no longer the armed one.
 *
 * So a fire needs no dedup token: a job run twice (BullMQ delivers at least once) finds its
 * timer re-armed with a new generation or its call in a state that no longer waits for it, and
 * the copy is ignored. A token would cost its hash and a place in the call's token field, which a
 * held call's keep-alive timer filled with one per interval.
 */
import type { Job } from 'bullmq';
import type { CallRuntime } from '../src/calls/runtime.js';
import type { TimerJob } from '../src/queues/jobs.js';

export function createTimerProcessor(deps: {
  runtime: Pick<CallRuntime, 'applyEvent'>;
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;
  return async function processTimerJob(job: Job<TimerJob>): Promise<string> {
    const { callId, event, gen } = job.data;
    const result = await deps.runtime.applyEvent(callId, { type: event, at: now(), gen });
    return result.outcome;
  };
}
