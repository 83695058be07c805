/**
 * A timer fire held by workers that die in turn still fires: with the timer queue's hold
 * settings (workers/compose.ts `JOB_HOLD`), a job taken back twice from a worker whose lock
 * lapsed is run by the next one, where BullMQ's default (once) would fail it, and a failed
 * keep-alive fire is never re-armed. Real BullMQ workers on a real Redis; a worker "dies" by
 * closing without finishing its job, so its lock is no longer renewed and lapses.
 */
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { JOB_HOLD } from '../../workers/compose.js';
import { deleteByPrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { eventually } from '../helpers/system.js';

const prefix = uniquePrefix('timer-stalls');
const connection = () => new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
const connections: Redis[] = [];
const open = () => {
  const c = connection();
  connections.push(c);
  return c;
};

afterAll(async () => {
  const redis = connection();
  await deleteByPrefix(redis, prefix);
  await redis.quit();
  for (const c of connections) c.disconnect();
});

describe('a timer fire whose worker dies', () => {
  it('is still fired when it was taken back twice', async () => {
    const queue = new Queue('timers', { connection: open(), prefix });
    const takes: string[] = [];
    /** A worker that takes the job and dies holding it (its lock is never renewed again). */
    const dyingWorker = async (name: string) => {
      let took!: () => void;
      const taken = new Promise<void>((resolve) => (took = resolve));
      const worker = new Worker(
        'timers',
        () => {
          takes.push(name);
          took();
          return new Promise<never>(() => undefined);
        },
        { connection: open(), prefix, ...JOB_HOLD, name },
      );
      await taken;
      await worker.close(true);
    };
    await queue.add('keepAlive', { callId: 'c1' }, { jobId: 'c1-keepAlive-g3' });
    await dyingWorker('first');
    await dyingWorker('second'); // takes it back once, and dies too
    let fired: Job | undefined;
    const last = new Worker(
      'timers',
      (job) => {
        takes.push('third');
        fired = job;
        return Promise.resolve();
      },
      { connection: open(), prefix, ...JOB_HOLD, name: 'third' },
    );
    try {
      await eventually(() => fired, 10_000, 'the fire on the third worker');
      expect(takes).toEqual(['first', 'second', 'third']);
      expect(fired?.stalledCounter).toBe(2);
      expect(await queue.getFailedCount()).toBe(0);
    } finally {
      await last.close();
      await queue.close();
    }
  });
});
