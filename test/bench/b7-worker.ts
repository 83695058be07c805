/**
 * B7's worker process: a BullMQ Worker on the graph queue with the graph worker's settings
 * (workers/compose.ts) whose processor only notes when it started. Start times go to the parent
 * over IPC in batches, on this process's epoch clock (timeOrigin + now, sub-ms); the parent
 * measures the offset between the two clocks by ping-pong. Env: REDIS_URL, BENCH_PREFIX,
 * BENCH_CONCURRENCY.
 */
import { Worker } from 'bullmq';
import { pino } from 'pino';
import { queuePrefix } from '../../src/redis/keys.js';
import { createCore } from '../../src/roles/core.js';
import { QUEUE, type GraphJob } from '../../src/queues/jobs.js';
import { JOB_HOLD } from '../../workers/compose.js';

export type ToParent =
  | { type: 'ready' }
  | { type: 'pong'; id: number; at: number }
  | {
      type: 'started';
      jobs: [jobId: string, at: number, processedOn: number, timestamp: number][];
    };
export type ToWorker = { type: 'ping'; id: number } | { type: 'stop' };

const epochNow = (): number => performance.timeOrigin + performance.now();
const send = (message: ToParent): void => {
  process.send?.(message);
};

async function main(): Promise<void> {
  const prefix = process.env.BENCH_PREFIX ?? 'bench-b7';
  const core = createCore(
    { redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', redisKeyPrefix: prefix },
    pino({ level: 'silent' }),
  );
  await core.ready();
  let batch: Extract<ToParent, { type: 'started' }>['jobs'] = [];
  const worker = new Worker<GraphJob>(
    QUEUE.graph,
    (job) => {
      batch.push([job.id!, epochNow(), job.processedOn ?? 0, job.timestamp]);
      return Promise.resolve();
    },
    {
      connection: core.workerConnection(),
      prefix: queuePrefix(prefix),
      concurrency: Number(process.env.BENCH_CONCURRENCY ?? 50),
      ...JOB_HOLD,
    },
  );
  worker.on('error', (err) => console.error(`B7 worker: ${err.message}`));
  await worker.waitUntilReady();
  const flush = setInterval(() => {
    if (batch.length === 0) return;
    send({ type: 'started', jobs: batch });
    batch = [];
  }, 20);
  process.on('message', (message: ToWorker) => {
    if (message.type === 'ping') send({ type: 'pong', id: message.id, at: epochNow() });
    if (message.type === 'stop') {
      clearInterval(flush);
      void worker
        .close()
        .then(() => core.close())
        .finally(() => process.exit(0));
    }
  });
  send({ type: 'ready' });
}

main().catch((error: unknown) => {
  console.error('B7 worker failed:', error);
  process.exit(1);
});
