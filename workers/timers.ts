/**
 * The `timers` queue: durable deadlines. A delayed job fires and delivers its event through
 * `applyEvent`; a timer whose state was already left is ignored by the machine.
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
    const result = await deps.runtime.applyEvent(
      job.data.callId,
      { type: job.data.event, at: now() },
      { dedupId: `job-${job.id}` },
    );
    return result.outcome;
  };
}
