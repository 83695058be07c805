import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import type { CallEvent } from '../../machines/call.js';
import { createCore, type Core } from '../../src/core.js';
import { activeCallsKey, callKeys } from '../../src/calls/keys.js';
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
  await deleteByPrefix(redis, prefix);
  await core.close();
  await redis.quit();
});

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
    const timer = await core.queues.timers.getJob(`${callId}-answerDeadline-g2`);
    expect(await timer?.getState()).toBe('delayed');
    expect(await core.runtime.activeCallCount()).toBeGreaterThanOrEqual(1);
    expect(await redis.zscore(activeCallsKey(prefix), callId)).not.toBeNull();
    // effects handed over → outbox is empty again
    expect(await redis.xlen(callKeys(prefix, callId).outbox)).toBe(0);
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
      const results = await Promise.all([
        core.runtime.applyEvent(
          callId,
          { type: 'GRAPH.ANSWER_ACCEPTED', at: Date.now(), attempts: 1 },
          { dedupId: 'a' },
        ),
        other.runtime.applyEvent(
          callId,
          { type: 'CALL.ESTABLISHING', at: Date.now() },
          { dedupId: 'b' },
        ),
        other.runtime.applyEvent(
          callId,
          { type: 'CALL.ESTABLISHED', at: Date.now() },
          { dedupId: 'c' },
        ),
        core.runtime.applyEvent(
          callId,
          { type: 'CALL.ESTABLISHED', at: Date.now() },
          { dedupId: 'c' },
        ),
      ]);
      const committed = results.filter((r) => r.outcome === 'committed');
      const call = await core.runtime.getCall(callId);
      expect(call?.snapshot.matches({ live: 'established' })).toBe(true);
      // version = 1 (invite) + every committed transition, no lost update
      expect(call?.version).toBe(1 + committed.length);
      expect(results.filter((r) => r.outcome === 'duplicate').length).toBeLessThanOrEqual(1);
      expect(await core.queues.graph.getJobCounts()).toMatchObject({ waiting: 1 });
    } finally {
      await other.close();
    }
  });

  it('expires a finished call from Redis', async () => {
    const callId = `call-${++n}`;
    await core.runtime.applyEvent(callId, invite(callId));
    await core.runtime.applyEvent(callId, { type: 'CALL.TERMINATED', at: Date.now() });
    const ttl = await redis.pttl(callKeys(prefix, callId).call);
    expect(ttl).toBeGreaterThan(0);
    expect(await redis.zscore(`${prefix}:active-calls`, callId)).toBeNull();
  });

  it('refuses a call id that could escape its hash tag', async () => {
    await expect(core.runtime.applyEvent('bad}{id', invite('bad}{id'))).rejects.toThrow(
      /invalid call id/,
    );
  });
});
