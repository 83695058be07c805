/**
 * The `graph` queue: answer and reject through the `GraphCalls` port, then report the outcome
 * to the call as an event. Deadline-bound: the request is aborted at the answer deadline, a
 * retry is scheduled only if it (including Retry-After) still fits before the deadline, and
 * nothing is sent once the deadline has passed (DESIGN §3.5).
 */
import { UnrecoverableError, type Job } from 'bullmq';
import type { CallEvent } from '../machines/call.js';
import type { CallRuntime } from '../src/calls/runtime.js';
import type { AnswerBody, GraphCalls } from '../src/graph/calls.js';
import type { GraphCallError } from '../src/graph/errors.js';
import { toGraphCallError } from '../src/graph/errors.js';
import type { GraphJob } from '../src/queues/jobs.js';
import { GRAPH_MAX_ATTEMPTS } from '../src/queues/producer.js';

export interface GraphWorkerDeps {
  graph: GraphCalls;
  runtime: Pick<CallRuntime, 'applyEvent'>;
  answerBody(callId: string): AnswerBody;
  callbackUri: string;
  now?: () => number;
}

/** Thrown to ask BullMQ for another attempt after `retryAfterMs`. */
export class RetryLaterError extends Error {
  override name = 'RetryLaterError';
  constructor(
    override readonly cause: GraphCallError,
    readonly retryAfterMs: number,
  ) {
    super(cause.message);
  }
}

/** Exponential backoff without Retry-After: 100, 200, 400 … capped at 1 s. */
export const backoffMs = (attempt: number): number => Math.min(100 * 2 ** (attempt - 1), 1000);

/** BullMQ `settings.backoffStrategy`: the delay the failed attempt asked for. */
export function graphBackoffStrategy(attemptsMade: number, _type?: string, err?: Error): number {
  return err instanceof RetryLaterError ? err.retryAfterMs : backoffMs(attemptsMade);
}

export function createGraphProcessor(deps: GraphWorkerDeps) {
  const now = deps.now ?? Date.now;

  const report = (job: Job<GraphJob>, event: CallEvent) =>
    deps.runtime.applyEvent(job.data.callId, event, { dedupId: `job-${job.id}-${event.type}` });

  const failedEvent = (job: Job<GraphJob>, reason: string, status?: number): CallEvent =>
    job.data.op === 'answer'
      ? {
          type: 'GRAPH.ANSWER_FAILED',
          at: now(),
          reason,
          attempts: job.attemptsMade + 1,
          ...(status ? { status } : {}),
        }
      : { type: 'GRAPH.REJECT_FAILED', at: now(), reason, ...(status ? { status } : {}) };

  return async function processGraphJob(
    job: Job<GraphJob>,
    _token?: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const { data } = job;
    const left = data.deadlineAt - now();
    if (left <= 0) {
      await report(job, failedEvent(job, 'answer deadline passed before the request was sent'));
      throw new UnrecoverableError('deadline passed');
    }
    const deadline = AbortSignal.timeout(left);
    const abort = signal ? AbortSignal.any([signal, deadline]) : deadline;
    try {
      if (data.op === 'answer') {
        await deps.graph.answer(data.tenantId, data.callId, deps.answerBody(data.callId), abort);
        await report(job, {
          type: 'GRAPH.ANSWER_ACCEPTED',
          at: now(),
          attempts: job.attemptsMade + 1,
        });
      } else {
        await deps.graph.reject(
          data.tenantId,
          data.callId,
          { reason: data.reason, callbackUri: deps.callbackUri },
          abort,
        );
        await report(job, { type: 'GRAPH.REJECT_ACCEPTED', at: now() });
      }
    } catch (error) {
      const err = toGraphCallError(error);
      const attempt = job.attemptsMade + 1;
      const wait = err.retryAfterMs ?? backoffMs(attempt);
      const fits = now() + wait < data.deadlineAt;
      if (err.retryable && attempt < GRAPH_MAX_ATTEMPTS && fits && !signal?.aborted) {
        throw new RetryLaterError(err, wait);
      }
      const why =
        !err.retryable || attempt >= GRAPH_MAX_ATTEMPTS
          ? err.message
          : `${err.message}; no retry fits before the deadline`;
      await report(job, failedEvent(job, why, err.status > 0 ? err.status : undefined));
      throw new UnrecoverableError(why);
    }
  };
}
