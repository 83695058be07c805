/**
 * The workers role composed: the BullMQ workers of one process (workers/main.ts runs it). The graph queue is deadline-bound: short locks and
 * stall checks so a job held by a dead worker is retried well inside the 5 s answer window
 * (BullMQ's defaults would take 30–60 s: lock expiry plus a stalled-check tick,
 * https://docs.bullmq.io/guide/workers/stalled-jobs).
 */
import { hostname } from 'node:os';
import { Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Core } from '../src/roles/core.js';
import { queuePrefix } from '../src/redis/keys.js';
import type { Config } from '../src/config.js';
import { createGraphCalls, type GraphCalls } from '../src/graph/calls.js';
import { createTokenSource } from '../src/graph/tokens.js';
import type { AnswerPolicy } from '../src/policy/policy.js';
import { buildAnswerBody } from '../src/graph/answer-body.js';
import { MediaCredentials } from '../src/media/credentials.js';
import { QUEUE, type StoredGraphJob, type TimerJob } from '../src/queues/jobs.js';
import { ATTR, jobInstruments } from '../src/telemetry/index.js';
import { createGraphProcessor, graphBackoffStrategy } from './graph.js';
import { traced } from './job-span.js';
import { createTimerProcessor } from './timers.js';

export type WorkerSettings = Pick<
  Config,
  | 'redisKeyPrefix'
  | 'publicBaseUrl'
  | 'mediaPublicHost'
  | 'mediaPort'
  | 'graphWorkerConcurrency'
  | 'graphBaseUrl'
  | 'botAppId'
  | 'botAppSecret'
  | 'entraAuthorityHost'
  | 'rosterMode'
  | 'mediaCredentialSecret'
  | 'acceptedModalities'
  | 'outboxSweepIntervalMs'
  | 'outboxGraceMs'
>;

/**
 * Lock of a job (Graph and timer jobs alike). BullMQ's lock manager looks every quarter of it
 * and renews a lock older than a quarter, so a live worker's lock is at most half its length
 * old; it lapses only when the worker's event loop (or its renewal round trip) is late by half
 * the lock, 350 ms.
 */
export const JOB_LOCK_MS = 700;
/** How often workers look for jobs whose lock lapsed (their worker died). */
export const STALL_CHECK_MS = 200;

/**
 * How both queues' jobs are held. A dead worker's job is back in the queue once its lock lapses
 * (between a half and the whole of JOB_LOCK_MS after the kill) and a stall check sees it (every
 * STALL_CHECK_MS): ≤ 0.9 s, well inside the 5 s answer window
 * (test/integration/worker-failover.test.ts measures it). The cost: an event loop late by half
 * the lock lets a second worker run the job again, as when a worker dies with a request in
 * flight (BullMQ delivers at least once; an answer job sent again reads its call first,
 * ./graph.ts; a second fire of one timer is a no-op: its generation). BullMQ fails a job taken
 * back more than `maxStalledCount` times, and a failed keep-alive fire is never re-armed, so
 * two are allowed (BullMQ's default is one).
 */
export const JOB_HOLD = {
  lockDuration: JOB_LOCK_MS,
  stalledInterval: STALL_CHECK_MS,
  maxStalledCount: 2,
} as const;

export interface RunningWorkers {
  readonly workers: Worker[];
  isRunning(): boolean;
  /** Stop fetching, wait up to `drainMs` for active jobs, then force. */
  close(drainMs: number): Promise<void>;
}

/** The Graph port as configured: msal client-credential tokens per tenant, Graph client. */
export function graphCallsFrom(settings: WorkerSettings): GraphCalls {
  return createGraphCalls({
    graphBaseUrl: settings.graphBaseUrl,
    tokens: createTokenSource({
      clientId: settings.botAppId,
      clientSecret: settings.botAppSecret,
      authorityHost: settings.entraAuthorityHost,
    }),
  });
}

export function startWorkers(
  core: Core,
  settings: WorkerSettings,
  policy: AnswerPolicy,
  logger: Logger,
  graph: GraphCalls = graphCallsFrom(settings),
): RunningWorkers {
  const prefix = queuePrefix(settings.redisKeyPrefix);
  // recorded on each job as `processedBy`: which process held it
  const workerName = `${hostname()}:${process.pid}`;
  const callbackUri = `${settings.publicBaseUrl}/api/calling`;
  const credentials = new MediaCredentials(settings.mediaCredentialSecret);
  const graphWorker = new Worker<StoredGraphJob>(
    QUEUE.graph,
    traced(
      QUEUE.graph,
      'continue',
      createGraphProcessor({
        graph,
        runtime: core.runtime,
        callState: (callId) => core.store.state(callId),
        callbackUri,
        answerBody: (callId) =>
          buildAnswerBody(
            callId,
            {
              callbackUri,
              mediaHost: settings.mediaPublicHost,
              mediaPort: settings.mediaPort,
              participantCapacity: policy.participantCapacity,
              deltaRoster: settings.rosterMode === 'delta',
              modalities: settings.acceptedModalities,
              credentials,
            },
            Date.now(),
          ),
      }),
    ),
    {
      connection: core.workerConnection(),
      prefix,
      concurrency: settings.graphWorkerConcurrency,
      ...JOB_HOLD,
      name: workerName,
      settings: { backoffStrategy: graphBackoffStrategy },
    },
  );
  const timerWorker = new Worker<TimerJob>(
    QUEUE.timers,
    traced(QUEUE.timers, 'link', createTimerProcessor({ runtime: core.runtime })),
    {
      connection: core.workerConnection(),
      prefix,
      concurrency: 50,
      // timer jobs are short (one applyEvent); a dead worker's fire is late by ≤ 0.9 s
      ...JOB_HOLD,
      name: workerName,
    },
  );
  const workers = [graphWorker, timerWorker];
  // any surviving replica re-drives effects a dead process committed but never enqueued
  const sweeper = core.sweepOutbox(settings);
  const { takenBack } = jobInstruments();
  for (const w of workers) {
    w.on('error', (err) => logger.warn({ err: err.message, queue: w.name }, 'worker error'));
    // this process's stall check found a job whose lock lapsed: its worker died, or its event
    // loop ran late by half the lock (then the job may run twice)
    w.on('stalled', (jobId) => {
      takenBack.add(1, { [ATTR.queue]: w.name });
      logger.warn({ queue: w.name, jobId }, 'job taken back from a worker whose lock lapsed');
    });
    w.on('failed', (job, err) =>
      logger.info(
        { queue: w.name, jobId: job?.id, attempts: job?.attemptsMade, err: err.message },
        'job attempt failed',
      ),
    );
  }
  let closed: Promise<void> | undefined;
  return {
    workers,
    isRunning: () => workers.every((w) => w.isRunning()),
    close: (drainMs) =>
      (closed ??= (async () => {
        await sweeper.close();
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<'timeout'>((r) => (timer = setTimeout(r, drainMs, 'timeout')));
        const drained = await Promise.race([Promise.all(workers.map((w) => w.close())), grace]);
        clearTimeout(timer);
        if (drained === 'timeout') await Promise.all(workers.map((w) => w.close(true)));
      })()),
  };
}
