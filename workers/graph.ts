/**
 * The `graph` queue: answer, reject, updateRecordingStatus, keepAlive and hang up through the
 * `GraphCalls` port, then report the outcome to the call as an event. Every job has a time
 * after which it no longer matters (`deadlineAt`: the answer deadline, or the effect's budget):
 * the request is aborted then, a retry is scheduled only for transient failures (429/503/504,
 * 5xx, transport) and only if it — Retry-After included — still fits before that time, and
 * nothing is sent after it (docs/architecture.md#the-answer-deadline-is-never-passed). Other 4xx
 * answers (8522 call not found, 403, 8506) are final and reported as such.
 */
import { UnrecoverableError, type Job } from 'bullmq';
import type { CallEvent } from '../machines/call.js';
import type { CallRuntime } from '../src/calls/runtime.js';
import type { AnswerBody, GraphCalls } from '../src/graph/calls.js';
import { toGraphCallError, type GraphCallError } from '../src/graph/errors.js';
import type { GraphJob } from '../src/queues/jobs.js';
import { GRAPH_MAX_ATTEMPTS } from '../src/queues/producer.js';
import {
  ATTR,
  jobInstruments,
  withRequestAttributes,
  type JobInstruments,
} from '../src/telemetry/index.js';

export interface GraphWorkerDeps {
  graph: GraphCalls;
  runtime: Pick<CallRuntime, 'applyEvent'>;
  answerBody(callId: string): AnswerBody;
  callbackUri: string;
  now?: () => number;
  /** @default jobInstruments() on the global meter */
  instruments?: Pick<JobInstruments, 'effectsExpired'>;
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

interface Outcome {
  ok(at: number, attempts: number): CallEvent;
  failed(at: number, reason: string, status: number | undefined, attempts: number): CallEvent;
}

const REPORT_RETRIES_MS = [50, 200, 500, 1000];

const opt = <T>(key: string, value: T | undefined) => (value === undefined ? {} : { [key]: value });

/** The events that report each operation's result to its call. */
function outcomeOf(data: GraphJob): Outcome {
  switch (data.op) {
    case 'answer':
      return {
        ok: (at, attempts) => ({ type: 'GRAPH.ANSWER_ACCEPTED', at, attempts }),
        failed: (at, reason, status, attempts) => ({
          type: 'GRAPH.ANSWER_FAILED',
          at,
          reason,
          attempts,
          ...opt('status', status),
        }),
      };
    case 'reject':
      return {
        ok: (at) => ({ type: 'GRAPH.REJECT_ACCEPTED', at }),
        failed: (at, reason, status) => ({
          type: 'GRAPH.REJECT_FAILED',
          at,
          reason,
          ...opt('status', status),
        }),
      };
    case 'updateRecordingStatus':
      return {
        ok: (at, attempts) => ({
          type: 'GRAPH.RECORDING_STATUS_OK',
          at,
          status: data.status,
          attempts,
        }),
        failed: (at, reason, status, attempts) => ({
          type: 'GRAPH.RECORDING_STATUS_FAILED',
          at,
          status: data.status,
          reason,
          attempts,
          ...opt('httpStatus', status),
        }),
      };
    case 'keepAlive':
      return {
        ok: (at) => ({ type: 'GRAPH.KEEPALIVE_OK', at }),
        failed: (at, reason, status) => ({
          type: 'GRAPH.KEEPALIVE_FAILED',
          at,
          reason,
          ...opt('status', status),
        }),
      };
    case 'hangUp':
      return {
        ok: (at) => ({ type: 'GRAPH.HANGUP_OK', at }),
        failed: (at, reason, status) => ({
          type: 'GRAPH.HANGUP_FAILED',
          at,
          reason,
          ...opt('status', status),
        }),
      };
  }
}

export function createGraphProcessor(deps: GraphWorkerDeps) {
  const now = deps.now ?? Date.now;
  const metrics = deps.instruments ?? jobInstruments();

  const send = (data: GraphJob, signal: AbortSignal): Promise<void> => {
    switch (data.op) {
      case 'answer':
        return deps.graph.answer(data.tenantId, data.callId, deps.answerBody(data.callId), signal);
      case 'reject':
        return deps.graph.reject(
          data.tenantId,
          data.callId,
          { reason: data.reason, callbackUri: deps.callbackUri },
          signal,
        );
      case 'updateRecordingStatus':
        return deps.graph.updateRecordingStatus(
          data.tenantId,
          data.callId,
          { status: data.status, clientContext: data.clientContext },
          signal,
        );
      case 'keepAlive':
        return deps.graph.keepAlive(data.tenantId, data.callId, signal);
      case 'hangUp':
        return deps.graph.hangUp(data.tenantId, data.callId, signal);
    }
  };

  return async function processGraphJob(
    job: Job<GraphJob>,
    _token?: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const { data } = job;
    const outcome = outcomeOf(data);
    const attempt = job.attemptsMade + 1;
    // The dedup id makes a repeated report a no-op. A report that fails after the request
    // succeeded is retried here rather than by BullMQ, which would send the request again.
    const report = async (event: CallEvent) => {
      for (let i = 0; ; i += 1) {
        try {
          return await deps.runtime.applyEvent(data.callId, event, {
            dedupId: `job-${job.id}-${event.type}`,
          });
        } catch (error) {
          if (i >= REPORT_RETRIES_MS.length) throw error;
          await new Promise((r) => setTimeout(r, REPORT_RETRIES_MS[i]));
        }
      }
    };
    const left = data.deadlineAt - now();
    if (left <= 0) {
      metrics.effectsExpired.add(1, { [ATTR.graphOp]: data.op });
      const why = `${data.op} no longer matters: its deadline passed before it could be sent`;
      await report(outcome.failed(now(), why, undefined, attempt));
      throw new UnrecoverableError(why);
    }
    // A plain timer rather than AbortSignal.timeout inside AbortSignal.any: on Node 20 the
    // combined signal can lose its timeout to garbage collection (nodejs/node#57736).
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new DOMException('the effect deadline passed', 'TimeoutError')),
      left,
    );
    const forward = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    const abort = controller.signal;
    try {
      // the Graph request's HTTP client span (instrumentation-undici) carries these
      await withRequestAttributes(
        {
          [ATTR.graphOp]: data.op,
          [ATTR.retryCount]: job.attemptsMade,
          [ATTR.callId]: data.callId,
        },
        () => send(data, abort),
      );
    } catch (error) {
      const err = toGraphCallError(error);
      const wait = err.retryAfterMs ?? backoffMs(attempt);
      const fits = now() + wait < data.deadlineAt;
      if (err.retryable && attempt < GRAPH_MAX_ATTEMPTS && fits && !signal?.aborted) {
        throw new RetryLaterError(err, wait);
      }
      if (err.retryable && !fits) metrics.effectsExpired.add(1, { [ATTR.graphOp]: data.op });
      const why =
        !err.retryable || attempt >= GRAPH_MAX_ATTEMPTS
          ? err.message
          : `${err.message}; no retry fits before the deadline`;
      await report(outcome.failed(now(), why, err.status > 0 ? err.status : undefined, attempt));
      throw new UnrecoverableError(why);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forward);
    }
    await report(outcome.ok(now(), attempt));
  };
}
