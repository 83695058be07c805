/**
 * Hands committed effects to BullMQ. Job ids are deterministic, so re-driving an effect that
 * was already enqueued is a no-op. A finished Graph job's id stays remembered for an hour to keep
 * it that way (BullMQ's deduplication key, a small string, not the job's hash), except for those
 * whose repetition is harmless (timers, keep-alives); the finished job itself is dropped.
 */
import { Queue } from 'bullmq';
import type { RedisClient } from '../redis/client.js';
import type { Rider } from '../redis/rider.js';
import { activeCallsKey, callKeys, queuePrefix, recentCallsKey } from '../redis/keys.js';
import { ATTR, currentCarrier, SpanKind, withSpan } from '../telemetry/index.js';
import {
  ACTIVE_CALLS,
  CANCEL_MEMORY_S,
  QUEUE,
  type EffectRecord,
  type GraphJob,
  type TimerJob,
} from './jobs.js';

export interface EffectQueues {
  /**
   * Hands `effect` over. With `ride`, the small commands of ours that follow a job (the
   * live-calls index writes, a timer start's cancel check) are given to `ride` instead of being
   * sent now: the snapshot store sends them with a later round trip (src/redis/rider.ts). They
   * must go on the connection the store uses, the one given here as `commands`.
   */
  enqueue(effect: EffectRecord, ride?: (rider: Rider) => void): Promise<void>;
  readonly graph: Queue<GraphJob>;
  readonly timers: Queue<TimerJob>;
  close(): Promise<void>;
}

/** Backoff type name understood by the graph worker's `backoffStrategy` (honours Retry-After). */
export const GRAPH_BACKOFF = 'graph-retry-after';
/** Upper bound of attempts; the answer deadline normally stops retries long before. */
export const GRAPH_MAX_ATTEMPTS = 10;

/**
 * How long a Graph job's id is remembered after it was added, so that the same effect re-driven
 * later (a sweeper finding an outbox entry whose enqueue was done but not acknowledged) is not
 * sent again: BullMQ's deduplication key, `…:de:<jobId>`, ≈ 0.15 KB against ≈ 1.2 KB for the
 * finished job's hash, which is dropped once the job is done (the key outlives it: BullMQ keeps a
 * deduplication key with a lifetime until it expires).
 */
export const GRAPH_JOB_ID_MEMORY_MS = 3600_000;
/**
 * Finished jobs are dropped at once. Timers and keep-alives carry no deduplication key: a timer
 * fired again is stale and the machine ignores it (each arming has its own generation), and a
 * second keep-alive is only a keep-alive. A held call would otherwise keep two finished jobs
 * (≈ 2.4 KB) per keep-alive interval.
 */
const DROP_COMPLETED = true;
/**
 * A finished Graph job kept a minute, for builds that re-drive effects without a deduplication
 * key (`keepFinishedGraphJobs`): by then its deadline has passed and a re-added job sends nothing.
 * BullMQ drops such jobs by age only when another job with the rule finishes.
 */
const KEEP_COMPLETED = { age: 60, count: 100_000 };
const KEEP_FAILED = { age: 24 * 3600 };

/**
 * Entries kept in each queue's event stream (`…:events`, BullMQ's record of job state changes
 * for `QueueEvents` listeners and dashboards; nothing of ours reads it). BullMQ keeps 10,000 by
 * default, ≈ 1 MB per queue, which a deployment holding a few thousand calls pays per call.
 */
export const QUEUE_EVENTS_KEPT = 1000;

/** Calls kept in the recent-calls index by default. */
export const RECENT_CALLS_MAX_DEFAULT = 100_000;

/**
 * `connection` carries BullMQ; our own commands (the live-calls index, timer-cancel markers) go
 * on `commands` when given, a connection without BullMQ's scripts: ioredis copies every script
 * defined on a connection onto each pipeline created on it, which is not free.
 */
export interface EffectQueueOptions {
  /** Calls kept in the recent-calls index. @default RECENT_CALLS_MAX_DEFAULT */
  recentCallsMax?: number;
  /**
   * Keep a finished Graph job a minute instead of dropping it, while processes of a build that
   * re-drives effects without BullMQ's deduplication key still run (`PACK_SNAPSHOTS=false`).
   * @default false
   */
  keepFinishedGraphJobs?: boolean;
}

export function createEffectQueues(
  connection: RedisClient,
  prefix: string,
  now: () => number = Date.now,
  commands: RedisClient = connection,
  options: EffectQueueOptions = {},
): EffectQueues {
  const recentCallsMax = options.recentCallsMax ?? RECENT_CALLS_MAX_DEFAULT;
  const finishedGraphJobs = options.keepFinishedGraphJobs ? KEEP_COMPLETED : DROP_COMPLETED;
  const opts = {
    connection,
    prefix: queuePrefix(prefix),
    streams: { events: { maxLen: QUEUE_EVENTS_KEPT } },
  };
  /** On Redis Cluster the index and the call's keys live in different slots: no pipeline. */
  const pipelining = !('isCluster' in commands && commands.isCluster);
  const graph = new Queue<GraphJob>(QUEUE.graph, opts);
  const timers = new Queue<TimerJob>(QUEUE.timers, opts);
  let closed: Promise<void> | undefined;
  return {
    graph,
    timers,
    enqueue: (effect, ride) => {
      // our own commands after a job: with the next round trip when the caller rides, else now
      const send = async (rider: Rider) => (ride ? ride(rider) : sendNow(rider));
      // The live-call index is no queue: its commands ride the commit, no job carries a trace
      // on, and a span of its own would only add to each traced event's cost.
      if (effect.queue === ACTIVE_CALLS) return indexCall(effect, send, ride !== undefined);
      return withSpan(
        `enqueue ${effect.queue}.${effect.name}`,
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            [ATTR.queue]: effect.queue,
            [ATTR.jobName]: effect.name,
            [ATTR.jobId]: effect.jobId,
            [ATTR.callId]: 'data' in effect ? effect.data.callId : effect.callId,
          },
        },
        () => enqueueJob(effect, send),
      );
    },
    close: () => (closed ??= Promise.all([graph.close(), timers.close()]).then(() => undefined)),
  };

  /**
   * Sends a rider's commands now, in one pipeline of their own (single-key riders only on a
   * cluster), and settles it; a refused command fails the enqueue.
   */
  async function sendNow(rider: Rider): Promise<void> {
    const pipeline = commands.pipeline();
    rider.queue(pipeline);
    const replies = (await pipeline.exec()) ?? [];
    const failed = replies.find(([error]) => error)?.[0];
    if (failed) throw failed;
    await rider.settle?.(replies);
  }

  /** The live-call and recent-call indexes: `riding` when `send` rides the caller's round trip. */
  async function indexCall(
    effect: Extract<EffectRecord, { queue: typeof ACTIVE_CALLS }>,
    send: (rider: Rider) => Promise<void>,
    riding: boolean,
  ): Promise<void> {
    const index = activeCallsKey(prefix);
    if (effect.name === 'ended') {
      await send({ queue: (p) => (p.zrem(index, effect.callId), 1) });
      return;
    }
    // A re-driven 'started' may come after the call ended: the end's record (written by its
    // commit) says so, and the entry goes again — the same add-then-check as timer cancels.
    // The recent-calls index (the operator's list) is written beside it: global keys cannot be
    // written by the commit script, and this path is crash-safe (outbox).
    const recent = recentCallsKey(prefix);
    const record = callKeys(prefix, effect.callId).record;
    if (riding || pipelining) {
      // Redis runs one connection's commands in order, so the check follows the add
      await send({
        queue: (p) => {
          p.zadd(index, now(), effect.callId)
            .zadd(recent, effect.at ?? now(), effect.callId)
            .zremrangebyrank(recent, 0, -(recentCallsMax + 1))
            .exists(record);
          return 4;
        },
        settle: async (replies) => {
          if (Number(replies[3]?.[1])) await commands.zrem(index, effect.callId);
        },
      });
      return;
    }
    // Redis Cluster: the keys live in different slots, no pipeline
    await Promise.all([
      commands.zadd(index, now(), effect.callId),
      commands.zadd(recent, effect.at ?? now(), effect.callId),
      commands.zremrangebyrank(recent, 0, -(recentCallsMax + 1)),
    ]);
    if (await commands.exists(record)) await commands.zrem(index, effect.callId);
  }

  /** A Graph job, a timer start or a timer cancel. */
  async function enqueueJob(
    effect: Exclude<EffectRecord, { queue: typeof ACTIVE_CALLS }>,
    send: (rider: Rider) => Promise<void>,
  ): Promise<void> {
    if (effect.queue === QUEUE.graph) {
      const keepAlive = effect.data.op === 'keepAlive';
      await graph.add(effect.name, withTrace(effect.data), {
        jobId: effect.jobId,
        ...(!keepAlive && {
          deduplication: { id: effect.jobId, ttl: GRAPH_JOB_ID_MEMORY_MS },
        }),
        attempts: GRAPH_MAX_ATTEMPTS,
        backoff: { type: GRAPH_BACKOFF },
        removeOnComplete: keepAlive ? DROP_COMPLETED : finishedGraphJobs,
        removeOnFail: KEEP_FAILED,
      });
    } else if (effect.name === 'cancel') {
      // Replicas enqueue the effects of one call concurrently, so a cancel can overtake the
      // start it cancels. Remember the cancel first, then remove; a start checks the memory
      // after adding. Either the remove finds the job or the start sees the cancel. The commit
      // of the cancel wrote the memory already (`marked`), atomically with the transition.
      if (!effect.marked) {
        await commands.set(
          callKeys(prefix, effect.callId).cancelledTimer(effect.jobId),
          '1',
          'EX',
          CANCEL_MEMORY_S,
        );
      }
      // a timer that is already running is stale and the machine ignores it
      await timers.remove(effect.jobId);
    } else {
      await timers.add(effect.name, withTrace(effect.data), {
        jobId: effect.jobId,
        delay: Math.max(0, effect.fireAt - now()),
        attempts: 5,
        backoff: { type: 'exponential', delay: 200 },
        removeOnComplete: DROP_COMPLETED,
        removeOnFail: KEEP_FAILED,
      });
      const cancelled = callKeys(prefix, effect.data.callId).cancelledTimer(effect.jobId);
      await send({
        queue: (p) => (p.exists(cancelled), 1),
        settle: async (replies) => {
          if (Number(replies[0]?.[1])) await timers.remove(effect.jobId);
        },
      });
    }
  }
}

/** Job data with the enqueue's trace context, which the worker's span continues or links. */
function withTrace<T extends object>(data: T): T {
  const trace = currentCarrier();
  return trace ? { ...data, trace } : data;
}
