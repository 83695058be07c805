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
import {
  currentGraphJob,
  type GraphJobs,
  type GraphOp,
  type StoredGraphJob,
} from '../src/queues/jobs.js';
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
  /**
   * The call's committed state name (undefined for a call not stored). Read before an answer is
   * sent again — a retry, or a job taken back from a worker that stopped, most often one that
   * died with the request in flight — to learn whether Teams already acted on an earlier one.
   */
  callState?: (callId: string) => Promise<string | undefined>;
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

/** A failed attempt as its call hears it; `httpStatus` is absent for transport failures. */
interface Failure {
  at: number;
  reason: string;
  httpStatus: number | undefined;
  attempts: number;
}

/** One Graph operation: the request it sends, and the events that report its result. */
interface Operation<K extends GraphOp> {
  send(deps: GraphWorkerDeps, job: GraphJobs[K], signal: AbortSignal): Promise<void>;
  ok(job: GraphJobs[K], at: number, attempts: number): CallEvent;
  failed(job: GraphJobs[K], failure: Failure): CallEvent;
}

const REPORT_RETRIES_MS = [50, 200, 500, 1000];

const http = (status: number | undefined) => (status === undefined ? {} : { httpStatus: status });

/** Every Graph operation the machine can ask for. Typed by its effects: a missing row fails tsc. */
const OPERATIONS: { [K in GraphOp]: Operation<K> } = {
  answer: {
    send: (deps, job, signal) =>
      deps.graph.answer(job.tenantId, job.callId, deps.answerBody(job.callId), signal),
    ok: (_job, at, attempts) => ({ type: 'GRAPH.ANSWER_ACCEPTED', at, attempts }),
    failed: (_job, f) => ({
      type: 'GRAPH.ANSWER_FAILED',
      at: f.at,
      reason: f.reason,
      attempts: f.attempts,
      ...http(f.httpStatus),
    }),
  },
  reject: {
    send: (deps, job, signal) =>
      deps.graph.reject(
        job.tenantId,
        job.callId,
        { reason: job.reason, callbackUri: deps.callbackUri },
        signal,
      ),
    ok: (_job, at) => ({ type: 'GRAPH.REJECT_ACCEPTED', at }),
    failed: (_job, f) => ({
      type: 'GRAPH.REJECT_FAILED',
      at: f.at,
      reason: f.reason,
      ...http(f.httpStatus),
    }),
  },
  updateRecordingStatus: {
    send: (deps, job, signal) =>
      deps.graph.updateRecordingStatus(
        job.tenantId,
        job.callId,
        { status: job.recordingStatus, clientContext: job.clientContext },
        signal,
      ),
    ok: (job, at, attempts) => ({
      type: 'GRAPH.RECORDING_STATUS_OK',
      at,
      recordingStatus: job.recordingStatus,
      attempts,
    }),
    failed: (job, f) => ({
      type: 'GRAPH.RECORDING_STATUS_FAILED',
      at: f.at,
      recordingStatus: job.recordingStatus,
      reason: f.reason,
      attempts: f.attempts,
      ...http(f.httpStatus),
    }),
  },
  keepAlive: {
    send: (deps, job, signal) => deps.graph.keepAlive(job.tenantId, job.callId, signal),
    ok: (_job, at) => ({ type: 'GRAPH.KEEPALIVE_OK', at }),
    failed: (_job, f) => ({
      type: 'GRAPH.KEEPALIVE_FAILED',
      at: f.at,
      reason: f.reason,
      ...http(f.httpStatus),
    }),
  },
  hangUp: {
    send: (deps, job, signal) => deps.graph.hangUp(job.tenantId, job.callId, signal),
    ok: (_job, at) => ({ type: 'GRAPH.HANGUP_OK', at }),
    failed: (_job, f) => ({
      type: 'GRAPH.HANGUP_FAILED',
      at: f.at,
      reason: f.reason,
      ...http(f.httpStatus),
    }),
  },
};

/** The operation of a job, bound to its data. */
const bind = <K extends GraphOp>(deps: GraphWorkerDeps, op: Operation<K>, job: GraphJobs[K]) => ({
  send: (signal: AbortSignal) => op.send(deps, job, signal),
  ok: (at: number, attempts: number) => op.ok(job, at, attempts),
  failed: (failure: Failure) => op.failed(job, failure),
});

export function createGraphProcessor(deps: GraphWorkerDeps) {
  const now = deps.now ?? Date.now;
  const metrics = deps.instruments ?? jobInstruments();

  /** Whether the call still waits for its answer; when the state cannot be read, it does. */
  async function answerSettled(callId: string): Promise<'waiting' | 'answered' | 'over'> {
    let state: string | undefined;
    try {
      state = await deps.callState?.(callId);
    } catch {
      return 'waiting'; // the deadline is what matters: send rather than wait on Redis
    }
    if (state === undefined || state === 'answering') return 'waiting';
    return state.startsWith('live') ? 'answered' : 'over';
  }

  return async function processGraphJob(
    job: Job<StoredGraphJob>,
    _token?: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const data = currentGraphJob(job.data);
    const operation = bind(deps, OPERATIONS[data.op], data);
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
    // an answer may have been sent before and reached Graph, its reply lost (a retry, or a job
    // taken back from a worker that stopped)
    const maybeSentBefore =
      data.op === 'answer' && (job.attemptsMade > 0 || (job.stalledCounter ?? 0) > 0);
    if (maybeSentBefore) {
      const settled = await answerSettled(data.callId);
      // Teams is establishing the call: an earlier answer reached Graph. Sent again, it would be
      // refused (the invite is gone: 404/8522) and that refusal would fail a call being set up.
      if (settled === 'answered') return void (await report(operation.ok(now(), attempt)));
      // answered, refused or ended without this job: nothing to send or report
      if (settled === 'over') return;
    }
    const left = data.deadlineAt - now();
    if (left <= 0) {
      metrics.effectsExpired.add(1, { [ATTR.graphOp]: data.op });
      const why = `${data.op} no longer matters: its deadline passed before it could be sent`;
      await report(
        operation.failed({ at: now(), reason: why, httpStatus: undefined, attempts: attempt }),
      );
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
        () => operation.send(abort),
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
      const httpStatus = err.status > 0 ? err.status : undefined;
      // Refused because the invite is gone (404/8522), it may have gone because an earlier
      // answer was accepted: Teams' next notification (establishing, or the call's end) or the
      // answer deadline settles the call, not this refusal.
      if (maybeSentBefore && err.status === 404) throw new UnrecoverableError(why);
      await report(operation.failed({ at: now(), reason: why, httpStatus, attempts: attempt }));
      throw new UnrecoverableError(why);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forward);
    }
    await report(operation.ok(now(), attempt));
  };
}
