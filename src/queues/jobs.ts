/**
 * The contract between the call runtime (producer) and workers/ (consumers): queue names, job
 * data and the effect records that the commit script writes to a call's outbox.
 */
import type {
  GraphEffects,
  GraphOp,
  RecordingStatus,
  TimerEventType,
  TimerId,
} from '../../machines/call.js';
import type { TraceCarrier } from '../telemetry/index.js';

export const QUEUE = { graph: 'graph', timers: 'timers' } as const;
export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

/**
 * One job per Graph operation: the effect's params (the call, the tenant, `deadlineAt` after
 * which nothing is sent, and the operation's own) without `gen`, which is in the job id.
 */
export type GraphJobs = { [K in GraphOp]: { op: K } & Omit<GraphEffects[K], 'gen'> };
export type GraphJob = GraphJobs[GraphOp] & {
  /** Trace context of the enqueue (W3C); the job's span continues that trace. */
  trace?: TraceCarrier;
};
export type { GraphOp };

/**
 * A recording-status job enqueued before its field was named `recordingStatus`: such jobs can
 * still sit in a queue or an outbox when a new worker starts, so the worker reads them too.
 */
export type LegacyRecordingJob = Omit<GraphJobs['updateRecordingStatus'], 'recordingStatus'> & {
  trace?: TraceCarrier;
  status: RecordingStatus;
};
export type StoredGraphJob = GraphJob | LegacyRecordingJob;

/** The current shape of any stored Graph job. */
export function currentGraphJob(data: StoredGraphJob): GraphJob {
  if (!('status' in data)) return data;
  const { status, ...rest } = data;
  return { ...rest, recordingStatus: status };
}

export interface TimerJob {
  callId: string;
  timerId: TimerId;
  event: TimerEventType;
  /** The generation the machine armed; a fire of another generation is stale. */
  gen: number;
  /** Trace context of the enqueue (W3C); the fire links to it rather than joining it. */
  trace?: TraceCarrier;
}

/**
 * A durable effect: what to enqueue (or cancel), with a job id that is the same however often
 * the effect is re-driven, so BullMQ collapses duplicates.
 */
export type EffectRecord =
  | { queue: typeof QUEUE.graph; name: GraphOp; jobId: string; data: GraphJob }
  | { queue: typeof QUEUE.timers; name: TimerId; jobId: string; data: TimerJob; fireAt: number }
  | {
      queue: typeof QUEUE.timers;
      name: 'cancel';
      jobId: string;
      callId: string;
      /**
       * The commit that carries this cancel also writes its marker (`cancelledTimer`), so the
       * enqueue only removes the job. Absent in entries of builds that wrote it at enqueue.
       */
      marked?: true;
    }
  /** The live-calls index (capacity): durable like the rest, so a crash cannot leak a count. */
  | {
      queue: typeof ACTIVE_CALLS;
      name: 'started' | 'ended';
      jobId: string;
      callId: string;
      /** When the call's invite arrived (a 'started' entry): its place among recent calls. */
      at?: number;
    };

/** How long a timer cancel is remembered (s): far longer than any effect waits for its enqueue. */
export const CANCEL_MEMORY_S = 3600;

/** Not a BullMQ queue: the sorted set of live calls (`activeCallsKey`). */
export const ACTIVE_CALLS = 'active-calls';
