/**
 * Wraps a BullMQ processor in the job's CONSUMER span and measures queue wait. A graph job
 * continues the trace that enqueued it (it runs within seconds); a timer fires minutes later,
 * so it starts a trace of its own that links to the one that armed it (a call
 * that lasts an hour should not be one giant trace).
 */
import type { Job } from 'bullmq';
import {
  ATTR,
  contextFrom,
  jobInstruments,
  linkTo,
  ROOT_CONTEXT,
  SpanKind,
  withSpan,
  type JobInstruments,
  type TraceCarrier,
} from '../src/telemetry/index.js';

type Processor<T, R> = (job: Job<T>, token?: string, signal?: AbortSignal) => Promise<R>;

export function traced<T extends { callId: string; trace?: TraceCarrier }, R>(
  queue: string,
  mode: 'continue' | 'link',
  processor: Processor<T, R>,
  instruments: Pick<JobInstruments, 'queueWait'> = jobInstruments(),
  now: () => number = Date.now,
): Processor<T, R> {
  return (job, token, signal) => {
    // first attempts only: a retry's wait includes the backoff it asked for
    if (job.attemptsMade === 0) {
      const due = job.timestamp + (job.delay ?? 0);
      instruments.queueWait.record(Math.max(0, now() - due), { [ATTR.queue]: queue });
    }
    const carried = job.data.trace;
    return withSpan(
      `process ${queue}.${job.name}`,
      {
        kind: SpanKind.CONSUMER,
        parent: mode === 'continue' ? contextFrom(carried) : ROOT_CONTEXT,
        links: mode === 'link' ? linkTo(carried, { 'cr.link': 'armed-by' }) : [],
        attributes: {
          [ATTR.queue]: queue,
          [ATTR.jobName]: job.name,
          [ATTR.jobId]: job.id ?? '',
          [ATTR.attempt]: job.attemptsMade + 1,
          [ATTR.callId]: job.data.callId,
        },
      },
      () => processor(job, token, signal),
    );
  };
}
