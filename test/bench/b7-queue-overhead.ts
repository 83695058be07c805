/**
 * B7 queue-overhead: what the BullMQ hop costs between a committed transition and the start of
 * the Graph worker's job, at 500 jobs/s. Each arrival is a real `applyEvent` of an invite
 * (load, commit, effects); the clock starts when the runtime hands the answer effect over, right
 * after the commit, and stops when the processor starts.
 *
 * - bullmq: the real producer (`createEffectQueues`) and a BullMQ Worker with the graph worker's
 *   settings in a process of its own (b7-worker.ts), as deployed. Its start times are on its
 *   own epoch clock; the offset to ours is measured by IPC ping-pong (minimum round trip) and
 *   taken off.
 * - direct (the floor): the same runtime, whose answer effect calls the processor in-process.
 *
 * Timer effects go to BullMQ in both, so Redis sees the same load. Each run has its own prefix
 * and queues; its first second is not measured.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createCallRuntime } from '../../src/calls/runtime.js';
import { createCore } from '../../src/roles/core.js';
import { QUEUE, type EffectRecord } from '../../src/queues/jobs.js';
import { JOB_LOCK_MS, STALL_CHECK_MS } from '../../workers/compose.js';
import { incoming } from '../helpers/call-events.js';
import { deleteByPrefix, plainRedis, uniquePrefix } from '../helpers/redis.js';
import type { ToParent, ToWorker } from './b7-worker.js';
import {
  BENCH_IMPORTS,
  openLoop,
  repeated,
  sleep,
  summarize,
  until,
  type Summary,
} from './harness/index.js';

const RATE = 500;
/** GRAPH_WORKER_CONCURRENCY's default (src/config.ts). */
const CONCURRENCY = 50;

export interface B7Options {
  quick: boolean;
  redisUrl: string;
}

export interface B7Run {
  target: 'bullmq' | 'direct';
  jobs: number;
  /** Effect handed over after the commit → processor started, ms. */
  dispatch: Summary;
  /** BullMQ's own view (job.processedOn - job.timestamp, whole ms); bullmq only. */
  bullmqWait?: Summary;
  /** Clock offset worker − bench and the ping round trip it was read with, ms; bullmq only. */
  clock?: { offsetMs: number; rttMs: number };
  /** Whole applyEvent (load → commit → enqueue → ack), ms: what the ingress waits for. */
  applyEvent: Summary;
  generatorLateness: Summary;
  /** Arrivals whose job never started (or whose applyEvent failed). */
  lost: number;
}

export interface B7Result {
  id: 'B7';
  setup: string;
  bullmq: B7Run;
  direct: B7Run;
  /** bullmq p50/p99 minus direct p50/p99 of the median runs, ms. */
  addedP50: number;
  addedP99: number;
  bullmqRuns: B7Run[];
  directRuns: B7Run[];
}

const epochNow = (): number => performance.timeOrigin + performance.now();

/** The worker process, with its clock offset (worker − bench, ms). */
interface RemoteWorker {
  child: ChildProcess;
  clock: { offsetMs: number; rttMs: number };
  stop(): Promise<void>;
}

async function startWorker(
  redisUrl: string,
  prefix: string,
  onStarted: (jobs: Extract<ToParent, { type: 'started' }>['jobs']) => void,
): Promise<RemoteWorker> {
  const file = fileURLToPath(new URL('./b7-worker.ts', import.meta.url));
  const child = spawn(process.execPath, [...BENCH_IMPORTS, file], {
    env: {
      ...process.env,
      REDIS_URL: redisUrl,
      BENCH_PREFIX: prefix,
      BENCH_CONCURRENCY: String(CONCURRENCY),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const pongs = new Map<number, (at: number) => void>();
  let isReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (isReady = r));
  child.on('message', (message: ToParent) => {
    if (message.type === 'ready') isReady();
    else if (message.type === 'pong') pongs.get(message.id)?.(message.at);
    else onStarted(message.jobs);
  });
  const send = (message: ToWorker) => child.send(message);
  await Promise.race([
    ready,
    exited.then(() => Promise.reject(new Error('B7 worker exited'))),
    sleep(30_000).then(() => Promise.reject(new Error('B7 worker not ready in 30 s'))),
  ]);
  // the sample with the smallest round trip bounds the offset best
  let best = { offsetMs: 0, rttMs: Number.POSITIVE_INFINITY };
  for (let id = 0; id < 50; id += 1) {
    const sentAt = epochNow();
    const theirs = await new Promise<number>((resolve) => {
      pongs.set(id, resolve);
      send({ type: 'ping', id });
    });
    const rtt = epochNow() - sentAt;
    if (rtt < best.rttMs) best = { offsetMs: theirs - (sentAt + rtt / 2), rttMs: rtt };
  }
  return {
    child,
    clock: best,
    async stop() {
      send({ type: 'stop' });
      const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
      if (!done) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

async function runOnce(
  target: B7Run['target'],
  redisUrl: string,
  warmupMs: number,
  runMs: number,
): Promise<B7Run> {
  const prefix = uniquePrefix(`bench-b7-${target}`);
  const core = createCore({ redisUrl, redisKeyPrefix: prefix }, pino({ level: 'silent' }));
  await core.ready();
  // when each answer effect was handed over, and whether it counts (not warm-up)
  const handedAt = new Map<string, { at: number; measured: boolean }>();
  const dispatch: number[] = [];
  const bullmqWait: number[] = [];
  const warmupArrivals = Math.round((RATE * warmupMs) / 1000);
  const started = (jobId: string, at: number): boolean => {
    const from = handedAt.get(jobId);
    handedAt.delete(jobId);
    if (from?.measured) dispatch.push(at - from.at);
    return from?.measured === true;
  };
  let worker: RemoteWorker | undefined;
  if (target === 'bullmq') {
    worker = await startWorker(redisUrl, prefix, (jobs) => {
      for (const [jobId, at, processedOn, timestamp] of jobs) {
        if (started(jobId, at - worker!.clock.offsetMs)) bullmqWait.push(processedOn - timestamp);
      }
    });
  }
  const enqueue = async (effect: EffectRecord): Promise<void> => {
    if (effect.queue !== QUEUE.graph) return core.queues.enqueue(effect);
    // measured by arrival, not by when the enqueue happens: under load a warm-up arrival's
    // enqueue can come after the warm-up ended (and was counted as measured, making `lost` < 0)
    const arrival = Number(effect.data.callId.slice('b7-'.length));
    handedAt.set(effect.jobId, { at: epochNow(), measured: arrival >= warmupArrivals });
    if (target === 'bullmq') return core.queues.enqueue(effect);
    // the floor: the processor called right here, as a direct call after the commit would
    started(effect.jobId, epochNow());
  };
  const runtime = createCallRuntime({
    prefix,
    store: core.store,
    queues: { enqueue },
  });
  const applyTimes: number[] = [];
  try {
    const loop = await openLoop({
      ratePerSec: RATE,
      durationMs: warmupMs + runMs,
      fire: async (i) => {
        const callId = `b7-${i}`;
        const t0 = performance.now();
        await runtime.applyEvent(callId, incoming(callId, Date.now()), { dedupId: `n-${i}` });
        if (i >= warmupArrivals) applyTimes.push(performance.now() - t0);
      },
    });
    const expected = loop.arrivals - warmupArrivals;
    await until(
      () => Promise.resolve(dispatch.length >= expected ? true : undefined),
      10_000,
      'every job started',
    ).catch(() => undefined);
    return {
      target,
      jobs: dispatch.length,
      dispatch: summarize(dispatch),
      ...(worker ? { bullmqWait: summarize(bullmqWait), clock: worker.clock } : {}),
      applyEvent: summarize(applyTimes),
      generatorLateness: loop.lateness,
      lost: expected - dispatch.length,
    };
  } finally {
    await worker?.stop();
    await core.close();
    const redis = plainRedis();
    await deleteByPrefix(redis, prefix);
    await redis.quit();
  }
}

export async function runB7(options: B7Options): Promise<B7Result> {
  const warmupMs = options.quick ? 1000 : 5000;
  const runMs = options.quick ? 4000 : 30_000;
  const directRuns: B7Run[] = [];
  const byP99 = (r: B7Run) => r.dispatch.p99;
  const bullmq = await repeated(
    3,
    async (i) => {
      directRuns.push(await runOnce('direct', options.redisUrl, warmupMs, runMs));
      const run = await runOnce('bullmq', options.redisUrl, warmupMs, runMs);
      const d = directRuns.at(-1)!;
      console.log(
        `B7: run ${i + 1}: bullmq dispatch p50 ${run.dispatch.p50.toFixed(2)} p99 ` +
          `${run.dispatch.p99.toFixed(2)} ms (clock offset ${run.clock?.offsetMs.toFixed(3)} ms ` +
          `± ${((run.clock?.rttMs ?? 0) / 2).toFixed(3)}), direct p50 ${d.dispatch.p50.toFixed(3)} ` +
          `p99 ${d.dispatch.p99.toFixed(3)} ms`,
      );
      return run;
    },
    byP99,
  );
  const direct = [...directRuns].sort((a, b) => byP99(a) - byP99(b))[1]!;
  return {
    id: 'B7',
    setup:
      `${RATE} invites/s through applyEvent (commit + answer effect + answer-deadline timer) in ` +
      `the bench process; bullmq: a Worker process with concurrency ${CONCURRENCY}, lock ` +
      `${JOB_LOCK_MS} ms, stall check ${STALL_CHECK_MS} ms; direct: the processor called ` +
      `in-process; Redis ${options.redisUrl}; ${warmupMs / 1000} s warm-up + ${runMs / 1000} s ` +
      `measured per run, 3 runs per target, alternating`,
    bullmq: bullmq.median,
    direct,
    addedP50: bullmq.median.dispatch.p50 - direct.dispatch.p50,
    addedP99: bullmq.median.dispatch.p99 - direct.dispatch.p99,
    bullmqRuns: bullmq.runs,
    directRuns,
  };
}
