import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import type { CallEvent } from '../../machines/call.js';
import { createCore, type Core } from '../../src/roles/core.js';
import { activeCallsKey, callKeys, queuePrefix } from '../../src/redis/keys.js';
import { QUEUE } from '../../src/queues/jobs.js';
import { createEffectQueues, QUEUE_EVENTS_KEPT } from '../../src/queues/producer.js';
import { createCallRuntime } from '../../src/calls/runtime.js';
import { incoming } from '../helpers/call-events.js';
import { deleteByPrefix, plainRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.js';

const prefix = uniquePrefix('runtime');
let core: Core;
let redis: Redis;
let n = 0;

const invite = (callId: string): CallEvent => ({
  ...incoming(callId, Date.now()),
  deadlineAt: Date.now() + 60_000,
  invite: { callId, tenantId: 'tenant', kind: 'p2p' },
});

beforeAll(async () => {
  core = createCore(
    { redisUrl: testRedisUrl(), redisKeyPrefix: prefix },
    pino({ level: 'silent' }),
  );
  await core.ready();
  redis = plainRedis();
});
afterEach(async () => {
  await core.queues.graph.obliterate({ force: true });
  await core.queues.timers.obliterate({ force: true });
});
afterAll(async () => {
  await core.close(); // writes what it still held (the transition feed) before the keys go
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

/**
 * A runtime on the same Redis whose first snapshot load is held until `release()`: what a
 * replica that read the call just before another replica committed does next.
 */
function lateRuntime() {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let loaded!: () => void;
  const loadedOnce = new Promise<void>((resolve) => (loaded = resolve));
  let loads = 0;
  const runtime = createCallRuntime({
    prefix,
    store: {
      ...core.store,
      load: async (id) => {
        const stored = await core.store.load(id);
        if ((loads += 1) === 1) {
          loaded();
          await held;
        }
        return stored;
      },
    },
    queues: core.queues,
  });
  return { runtime, loaded: loadedOnce, release, loads: () => loads };
}

describe('applyEvent against real Redis and BullMQ', () => {
  it('commits the transition with a version and enqueues its effects with deterministic ids', async () => {
    const callId = `call-${++n}`;
    const result = await core.runtime.applyEvent(callId, invite(callId), { dedupId: 'n1' });
    expect(result).toMatchObject({
      outcome: 'committed',
      version: 1,
      from: 'idle',
      to: 'answering',
      effects: 3, // answer, answer-deadline timer, the live-calls index
    });
    const hash = await redis.hgetall(callKeys(prefix, callId).call);
    expect(hash.v).toBe('1');
    expect(hash.state).toBe('answering');
    const answer = await core.queues.graph.getJob(`${callId}-answer-g1`);
    expect(answer?.data).toMatchObject({ op: 'answer', callId, tenantId: 'tenant' });
    // the deadline is seconds away: its start stays with the call until a sweeper hands it
    // over shortly before it is due (or the answer's cancel drops it)
    expect(await core.queues.timers.getJob(`${callId}-answerDeadline-g2`)).toBeUndefined();
    const deferred = await core.store.readDeferred(callId);
    expect(deferred.map((d) => d.effect.jobId)).toEqual([`${callId}-answerDeadline-g2`]);
    // the index write rides with this process's next round trip: the count sends it first
    expect(await core.runtime.activeCallCount()).toBeGreaterThanOrEqual(1);
    expect(await redis.zscore(activeCallsKey(prefix), callId)).not.toBeNull();
    // one outbox entry holds the transition's effects; handed over → acknowledged within the
    // store's ack delay (it rides with the next commit's round trip, or goes on its own)
    const outbox = callKeys(prefix, callId).outbox;
    const started = Date.now();
    while ((await redis.xlen(outbox)) > 0 && Date.now() - started < 2000) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await redis.xlen(outbox)).toBe(0);
    expect(Date.now() - started).toBeLessThan(1000); // well within the sweeper's grace
  });

  it('treats the same delivery twice as a duplicate and changes nothing', async () => {
    const callId = `call-${++n}`;
    await core.runtime.applyEvent(callId, invite(callId), { dedupId: 'same' });
    await core.runtime.applyEvent(
      callId,
      { type: 'CALL.ESTABLISHING', at: Date.now() },
      { dedupId: 'est' },
    );
    const again = await core.runtime.applyEvent(
      callId,
      { type: 'CALL.ESTABLISHED', at: Date.now() },
      { dedupId: 'est' },
    );
    expect(again).toEqual({ outcome: 'duplicate' });
    const call = await core.runtime.getCall(callId);
    expect(call?.version).toBe(2);
    expect(call?.snapshot.matches({ live: 'establishing' })).toBe(true);
  });

  it('a copy arriving after its original committed is a duplicate, a late stranger is ignored', async () => {
    const callId = `call-${++n}`;
    await core.runtime.applyEvent(callId, invite(callId), { dedupId: 'inv' });
    const est = { type: 'CALL.ESTABLISHING', at: Date.now() } as const;
    expect(await core.runtime.applyEvent(callId, est, { dedupId: 'est' })).toMatchObject({
      outcome: 'committed',
    });
    // the machine would ignore both; only the delivery's identity tells them apart
    expect(await core.runtime.applyEvent(callId, est, { dedupId: 'est' })).toEqual({
      outcome: 'duplicate',
    });
    expect(await core.runtime.applyEvent(callId, est, { dedupId: 'other' })).toEqual({
      outcome: 'ignored',
      state: 'live.establishing',
    });
    expect((await core.runtime.getCall(callId))?.version).toBe(2);
  });

  it('does not write for an event the state ignores', async () => {
    const callId = `call-${++n}`;
    const r = await core.runtime.applyEvent(callId, { type: 'CALL.ESTABLISHED', at: Date.now() });
    expect(r).toEqual({ outcome: 'ignored', state: 'idle' });
    expect(await redis.exists(callKeys(prefix, callId).call)).toBe(0);
  });

  it('serialises concurrent writers from separate runtimes through the version check', async () => {
    const callId = `call-${++n}`;
    const other = createCore(
      { redisUrl: testRedisUrl(), redisKeyPrefix: prefix },
      pino({ level: 'silent' }),
    );
    await other.ready();
    try {
      await core.runtime.applyEvent(callId, invite(callId));
      // A late runtime: its first load is held until the other runtime committed, so its
      // commit is made against a stale version and must be refused and retried, not overwrite.
      const late = lateRuntime();
      const lateResult = late.runtime.applyEvent(
        callId,
        { type: 'GRAPH.ANSWER_ACCEPTED', at: Date.now(), attempts: 1 },
        { dedupId: 'a' },
      );
      await late.loaded;
      const first = await other.runtime.applyEvent(
        callId,
        { type: 'CALL.ESTABLISHING', at: Date.now() },
        { dedupId: 'b' },
      );
      late.release();
      const second = await lateResult;
      expect(first).toMatchObject({ outcome: 'committed', version: 2, conflicts: 0 });
      // the stale commit was refused once, then retried on the fresh snapshot
      expect(second).toMatchObject({ outcome: 'committed', version: 3, conflicts: 1 });
      expect(late.loads()).toBe(2);
      const call = await core.runtime.getCall(callId);
      // both transitions are in the snapshot: no lost update
      expect(call?.snapshot.matches({ live: 'establishing' })).toBe(true);
      expect(call?.snapshot.context.answeredAt).toBeDefined();
      expect(call?.version).toBe(3);
    } finally {
      await other.close();
    }
  });

  it('the same delivery racing through two runtimes commits once; the copy is a duplicate at the commit', async () => {
    const callId = `call-${++n}`;
    await core.runtime.applyEvent(callId, invite(callId));
    // the copy loads the version before the original's commit, so the machine takes it again:
    // only the commit's dedup token can tell it apart
    const late = lateRuntime();
    const event: CallEvent = { type: 'CALL.ESTABLISHING', at: Date.now() };
    const copy = late.runtime.applyEvent(callId, event, { dedupId: 'same-notification' });
    await late.loaded;
    const original = await core.runtime.applyEvent(callId, event, {
      dedupId: 'same-notification',
    });
    late.release();
    expect(original).toMatchObject({ outcome: 'committed', version: 2 });
    expect(await copy).toEqual({ outcome: 'duplicate' });
    expect(late.loads()).toBe(1); // refused by the marker, not retried as a conflict
    expect((await core.runtime.getCall(callId))?.version).toBe(2);
  });

  it('expires a finished call from Redis', async () => {
    const callId = `call-${++n}`;
    await core.runtime.applyEvent(callId, invite(callId));
    await core.runtime.applyEvent(callId, { type: 'CALL.TERMINATED', at: Date.now() });
    const ttl = await redis.pttl(callKeys(prefix, callId).call);
    expect(ttl).toBeGreaterThan(0);
    // the index writes ride with a later round trip (within the store's ack delay)
    await core.store.flushAcks();
    expect(await redis.zscore(`${prefix}:active-calls`, callId)).toBeNull();
  });

  it('refuses a call id that could escape its hash tag', async () => {
    await expect(core.runtime.applyEvent('bad}{id', invite('bad}{id'))).rejects.toThrow(
      /invalid call id/,
    );
  });

  it("keeps a queue's event stream near QUEUE_EVENTS_KEPT entries, not BullMQ's 10,000", async () => {
    // queues of their own: the other tests obliterate theirs, BullMQ's settings with them
    const own = uniquePrefix('runtime-events');
    const connection = plainRedis();
    const queues = createEffectQueues(connection, own);
    try {
      // BullMQ writes the setting to the queue's meta once the connection is up (a process
      // starts long before its first add); getVersion waits for that write
      await queues.timers.getVersion();
      // each job added far in the future writes two events ('added', 'delayed')
      const jobs = Array.from({ length: QUEUE_EVENTS_KEPT }, (_, i) => ({
        name: 'keepAlive' as const,
        data: {
          callId: 'events-1',
          timerId: 'keepAlive' as const,
          event: 'TIMER.KEEPALIVE_DUE' as const,
          gen: i,
        },
        opts: { jobId: `events-1-keepAlive-g${i}`, delay: 3600_000 },
      }));
      await queues.timers.addBulk(jobs);
      const kept = await redis.xlen(`${queuePrefix(own)}:${QUEUE.timers}:events`);
      // trimmed approximately (MAXLEN ~): whole stream nodes of 100 entries go at a time
      expect(kept).toBeGreaterThanOrEqual(QUEUE_EVENTS_KEPT);
      expect(kept).toBeLessThanOrEqual(QUEUE_EVENTS_KEPT + 100);
    } finally {
      await queues.timers.obliterate({ force: true });
      await queues.close();
      await connection.quit();
      await deleteByPrefix(redis, own);
    }
  });
});
