/**
 * Outbox recovery: an effect committed but not yet enqueued — the process died between the
 * two — is found and enqueued by a surviving replica within a second or two. First the
 * sweeper's rules against real Redis and BullMQ, then the real crash: an ingress process
 * started with FAULT_CRASH_AFTER_COMMIT kills itself right after committing an invite, and the
 * in-process replica's sweeper gets the call answered before Teams' deadline.
 */
import type { ChildProcess } from 'node:child_process';
import { Worker } from 'bullmq';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeCallsKey, outboxIndexKey, queuePrefix } from '../../src/redis/keys.js';
import { GRAPH_JOB_ID_MEMORY_MS } from '../../src/queues/producer.js';
import type { Rider } from '../../src/redis/rider.js';
import { startOutboxSweeper } from '../../src/calls/outbox-sweeper.js';
import { createCore, type Core } from '../../src/roles/core.js';
import { freePort } from '../../src/dev/local-redis.js';
import { incoming } from '../helpers/call-events.js';
import { fakeFirstCommit } from '../helpers/commits.js';
import type { CallEvent } from '../../machines/call.js';
import { deleteByPrefix, plainRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { killAll, startRoleProcess } from '../helpers/role-process.js';
import { callReaches, eventually, startSystem } from '../helpers/system.js';
import { ACTIVE_CALLS, QUEUE, type EffectRecord } from '../../src/queues/jobs.js';

const logger = pino({ level: 'silent' });

describe('the outbox sweeper', () => {
  const prefix = uniquePrefix('outbox');
  let core: Core;
  beforeAll(async () => {
    core = createCore({ redisUrl: testRedisUrl(), redisKeyPrefix: prefix }, logger);
    await core.ready();
  });
  afterAll(async () => {
    await core.queues.graph.obliterate({ force: true });
    await core.queues.timers.obliterate({ force: true });
    await core.close();
    const redis = plainRedis();
    await deleteByPrefix(redis, prefix);
    await redis.quit();
  });

  /** What a process that died right after its commit leaves behind. */
  async function commitWithoutEnqueue(callId: string, announcedAt: number) {
    const effects: EffectRecord[] = [
      {
        queue: 'graph',
        name: 'answer',
        jobId: `${callId}-answer`,
        data: { op: 'answer', callId, tenantId: 't1', deadlineAt: Date.now() + 5000 },
      },
    ];
    await core.redis.zadd(outboxIndexKey(prefix), announcedAt, callId);
    const result = await core.store.commit(fakeFirstCommit(callId, { effects }));
    expect(result.kind).toBe('committed');
  }

  const sweeper = (graceMs: number) =>
    startOutboxSweeper({
      redis: core.redis,
      prefix,
      store: core.store,
      queues: core.queues,
      logger,
      intervalMs: 60_000, // passes are driven by the test
      graceMs,
    });

  it('re-drives a stale entry once, acks it and forgets the call', async () => {
    await commitWithoutEnqueue('lost-1', Date.now() - 5000);
    const s = sweeper(0);
    expect(await s.sweep()).toBe(1);
    expect(await core.queues.graph.getJob('lost-1-answer')).toBeDefined();
    expect(await core.store.readOutbox('lost-1')).toEqual([]);
    expect(await core.redis.zscore(outboxIndexKey(prefix), 'lost-1')).toBeNull();
    expect(await s.sweep()).toBe(0);
    await s.close();
  });

  /** A worker that records the jobs of this file's calls it runs (`owned` picks them). */
  function countingWorker(owned: (jobId: string) => boolean): { ran: string[]; worker: Worker } {
    const ran: string[] = [];
    const worker = new Worker(
      QUEUE.graph,
      (job) => {
        if (owned(job.id!)) ran.push(job.id!);
        return Promise.resolve();
      },
      { connection: core.workerConnection(), prefix: queuePrefix(prefix) },
    );
    return { ran, worker };
  }

  const graphEffect = (
    op: 'answer' | 'keepAlive',
    callId: string,
    jobId: string,
  ): EffectRecord => ({
    queue: 'graph',
    name: op,
    jobId,
    data: { op, callId, tenantId: 't1', deadlineAt: Date.now() + 5000 },
  });

  it('does not send again an effect re-driven after its finished job was dropped', async () => {
    // an earlier test left a job in the queue: count only this call's
    const { ran, worker } = countingWorker((id) => id.startsWith('done-1-'));
    const effect = (op: 'answer' | 'keepAlive', jobId: string) => graphEffect(op, 'done-1', jobId);
    try {
      await core.queues.enqueue(effect('answer', 'done-1-answer-g1'));
      await core.queues.enqueue(effect('keepAlive', 'done-1-keepAlive-g3'));
      await eventually(() => (ran.length === 2 ? true : undefined), 5000, 'both ran');
      const memory = `${queuePrefix(prefix)}:${QUEUE.graph}:de:done-1-answer-g1`;
      // the job's id is remembered for an hour; a keep-alive's is not (a second one is harmless)
      expect(await core.redis.pttl(memory)).toBeGreaterThan(GRAPH_JOB_ID_MEMORY_MS - 60_000);
      expect(await core.redis.exists(memory.replace('answer-g1', 'keepAlive-g3'))).toBe(0);
      // the finished jobs themselves are gone: their keys and any entry in the completed set
      await eventually(
        async () =>
          (await core.redis.keys(`${queuePrefix(prefix)}:${QUEUE.graph}:done-1-*`)).length === 0
            ? true
            : undefined,
        2000,
        'the finished jobs dropped',
      );
      const completed = `${queuePrefix(prefix)}:${QUEUE.graph}:completed`;
      expect(await core.redis.zscore(completed, 'done-1-answer-g1')).toBeNull();
      // a sweeper re-drives the effect (its enqueue was never acknowledged): nothing is added
      await core.queues.enqueue(effect('answer', 'done-1-answer-g1'));
      expect(await core.queues.graph.getJob('done-1-answer-g1')).toBeUndefined();
      // while an effect of another generation still runs
      await core.queues.enqueue(effect('answer', 'done-1-answer-g2'));
      await eventually(() => (ran.length === 3 ? true : undefined), 5000, 'g2 ran');
      expect(ran).toEqual(['done-1-answer-g1', 'done-1-keepAlive-g3', 'done-1-answer-g2']);
    } finally {
      await worker.close();
    }
  });

  it('keeps a finished Graph job a minute with PACK_SNAPSHOTS=false, for older builds', async () => {
    const older = createCore(
      { redisUrl: testRedisUrl(), redisKeyPrefix: prefix, packSnapshots: false },
      logger,
    );
    await older.ready();
    const { ran, worker } = countingWorker((id) => id.startsWith('kept-1-'));
    try {
      await older.queues.enqueue(graphEffect('answer', 'kept-1', 'kept-1-answer-g1'));
      await older.queues.enqueue(graphEffect('keepAlive', 'kept-1', 'kept-1-keepAlive-g2'));
      await eventually(() => (ran.length === 2 ? true : undefined), 5000, 'both ran');
      await eventually(
        async () =>
          (await older.queues.graph.getJob('kept-1-keepAlive-g2')) === undefined ? true : undefined,
        2000,
        'the keep-alive dropped',
      );
      const job = await older.queues.graph.getJob('kept-1-answer-g1');
      expect(await job?.getState()).toBe('completed');
      expect(job?.opts.removeOnComplete).toEqual({ age: 60, count: 100_000 });
    } finally {
      await worker.close();
      await older.close();
    }
  });

  it('leaves entries younger than the grace to the process that is enqueuing them', async () => {
    await commitWithoutEnqueue('fresh-1', Date.now() - 5000);
    const s = sweeper(60_000);
    expect(await s.sweep()).toBe(0);
    expect(await core.store.readOutbox('fresh-1')).toHaveLength(1);
    expect(await core.redis.zscore(outboxIndexKey(prefix), 'fresh-1')).not.toBeNull();
    await s.close();
  });

  it('never forgets a call that was announced again while it swept', async () => {
    // the index says "old", but the outbox is empty: a commit may be about to happen
    await core.redis.zadd(outboxIndexKey(prefix), Date.now() - 5000, 'racing-1');
    const s = sweeper(1000);
    const announceAgain = async () =>
      core.redis.zadd(outboxIndexKey(prefix), Date.now(), 'racing-1');
    // a replica re-announces between the sweeper's read of the index and its forget
    const readOutbox = core.store.readOutbox.bind(core.store);
    const store = {
      ...core.store,
      readOutbox: async (id: string, n?: number) => {
        const out = await readOutbox(id, n);
        await announceAgain();
        return out;
      },
    };
    const racing = startOutboxSweeper({
      redis: core.redis,
      prefix,
      store,
      queues: core.queues,
      logger,
      intervalMs: 60_000,
      graceMs: 1000,
    });
    await racing.sweep();
    expect(await core.redis.zscore(outboxIndexKey(prefix), 'racing-1')).not.toBeNull();
    await racing.close();
    await s.close();
  });

  it('keeps the live-calls count right when the end of a call was committed but not applied', async () => {
    const index = activeCallsKey(prefix);
    // a live call, as the index knows it
    await core.redis.zadd(index, Date.now(), 'ended-1');
    // its end committed (with its compact record) by a process that died before the index update
    await core.redis.zadd(outboxIndexKey(prefix), Date.now() - 5000, 'ended-1');
    const committed = await core.store.commit({
      callId: 'ended-1',
      expectedVersion: 0,
      snapshot: { fake: true },
      state: 'terminated',
      done: true,
      persist: false,
      record: { state: 'terminated' },
      effects: [
        { queue: ACTIVE_CALLS, name: 'started', jobId: 'ended-1-started', callId: 'ended-1' },
        { queue: ACTIVE_CALLS, name: 'ended', jobId: 'ended-1-ended', callId: 'ended-1' },
      ],
    });
    expect(committed.kind).toBe('committed');
    const s = sweeper(1000);
    expect(await s.sweep()).toBe(2);
    expect(await core.redis.zscore(index, 'ended-1')).toBeNull();
    // a late re-drive of the start alone does not bring the call back either
    await core.queues.enqueue({
      queue: ACTIVE_CALLS,
      name: 'started',
      jobId: 'ended-1-started',
      callId: 'ended-1',
    });
    expect(await core.redis.zscore(index, 'ended-1')).toBeNull();
    // nor when its index writes ride with a later round trip (the path of a live commit)
    const riders: Rider[] = [];
    await core.queues.enqueue(
      { queue: ACTIVE_CALLS, name: 'started', jobId: 'ended-1-started', callId: 'ended-1' },
      (rider) => riders.push(rider),
    );
    expect(riders).toHaveLength(1);
    core.store.ackOutboxSoon('ended-1', [], riders);
    await core.store.flushAcks();
    expect(await core.redis.zscore(index, 'ended-1')).toBeNull();
    await s.close();
  });

  it('applyEvent announces the call before committing effects', async () => {
    const result = await core.runtime.applyEvent(
      'announced-1',
      incoming('announced-1', Date.now()),
    );
    expect(result.outcome).toBe('committed');
    expect(await core.redis.zscore(outboxIndexKey(prefix), 'announced-1')).not.toBeNull();
    // its own enqueue acks the outbox within the store's ack delay, and that acknowledgement
    // drops the call from the index (no sweeper runs here)
    expect(
      await eventually(
        async () => ((await core.store.readOutbox('announced-1')).length === 0 ? true : undefined),
        1000,
        'the outbox acknowledged',
      ),
    ).toBe(true);
    await core.store.flushAcks();
    // The answer deadline's start is deferred: the call stays in the index at the score where
    // a sweeper hands it to BullMQ; the answer's cancel drops it and arms the keep-alive, also
    // deferred; the end of the call drops that, and the call leaves the index.
    const index = async () =>
      Number(await core.redis.zscore(outboxIndexKey(prefix), 'announced-1'));
    const deferred = async () =>
      (await core.store.readDeferred('announced-1')).map((d) => [d.effect.name, d.score]);
    const [deadline] = await deferred();
    expect(deadline?.[0]).toBe('answerDeadline');
    expect(await index()).toBe(deadline?.[1]);
    const settled = async (event: CallEvent) => {
      expect((await core.runtime.applyEvent('announced-1', event)).outcome).toBe('committed');
      await eventually(
        async () => ((await core.store.readOutbox('announced-1')).length === 0 ? true : undefined),
        1000,
        'the outbox acknowledged',
      );
      await core.store.flushAcks();
    };
    await settled({ type: 'GRAPH.ANSWER_ACCEPTED', at: Date.now(), attempts: 1 });
    const [keepAlive, ...more] = await deferred();
    expect(more).toEqual([]);
    expect(keepAlive?.[0]).toBe('keepAlive');
    expect(await index()).toBe(keepAlive?.[1]);
    await settled({ type: 'CALL.TERMINATED', at: Date.now() });
    expect(await deferred()).toEqual([]);
    expect(await core.redis.zscore(outboxIndexKey(prefix), 'announced-1')).toBeNull();
  });
});

describe('a process killed between commit and enqueue', () => {
  const children: ChildProcess[] = [];
  afterAll(() => killAll(children));

  it('loses nothing: another replica answers the call before the deadline', async () => {
    const system = await startSystem({ name: 'outbox-crash' });
    try {
      const port = await freePort();
      const { child, output } = startRoleProcess(
        'src/roles/ingress/main.ts',
        { ...system.env, PORT: String(port), FAULT_CRASH_AFTER_COMMIT: 'CALL.INCOMING' },
        children,
        { capture: true },
      );
      child.once('exit', (code) => {
        if (code !== null) console.error(output()); // it should have died by SIGKILL
      });
      const died = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, s) => r(s)));
      await eventually(
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
          return res?.ok ? true : undefined;
        },
        20_000,
        'the crashing ingress to listen',
      );
      // Teams delivers the invite to the replica that will die after committing it
      system.sim.webhookUrl = `http://127.0.0.1:${port}/api/calling`;
      const call = await system.sim.placeCall({ kind: 'p2p' });
      expect(await died).toBe('SIGKILL');
      system.sim.webhookUrl = `${system.ingress.url}/api/calling`;

      await call.waitFor('established', 8000);
      await callReaches(system, call.id, 'established');
      const answers = system.sim.requests.filter(
        (r) => r.route === 'answer' && r.callId === call.id,
      );
      expect(answers).toHaveLength(1);
      expect(answers[0]?.status).toBeOneOf([200, 202, 204]);
      const recovery = call.answer!.at - call.invitedAt;
      expect(recovery).toBeLessThan(5000); // the deadline Teams enforces
      console.info(`outbox recovery: answered ${recovery} ms after the invite`);
      // every effect acknowledged, the last ones within the replicas' ack delay
      await eventually(
        async () => ((await system.core.store.readOutbox(call.id)).length === 0 ? true : undefined),
        1000,
        'the outbox acknowledged',
      );
    } finally {
      await system.close();
    }
  });
});
