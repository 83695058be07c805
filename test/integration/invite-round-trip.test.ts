/**
 * An invite is applied without loading the call first: it is almost always for a call nobody
 * has stored, and the commit's version check (or its dedup token) says when it is not. And the
 * jobs of one transition are enqueued side by side. Real Redis (a private server) and BullMQ; the
 * loads are counted on the store the runtime is given.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCallRuntime } from '../../src/calls/runtime.js';
import { startPrivateRedis, type LocalRedis } from '../../src/dev/local-redis.js';
import type { EffectRecord } from '../../src/queues/jobs.js';
import { callKeys } from '../../src/redis/keys.js';
import { createCore, type Core } from '../../src/roles/core.js';
import { incoming } from '../helpers/call-events.js';

const prefix = 'invite-rt';
let server: LocalRedis;
let core: Core;
let observer: Redis;

beforeAll(async () => {
  server = await startPrivateRedis();
  core = createCore({ redisUrl: server.url, redisKeyPrefix: prefix }, pino({ level: 'silent' }));
  await core.ready();
  observer = new Redis(server.url);
});
afterAll(async () => {
  await observer?.quit();
  await core?.close();
  await server?.stop();
});

let loads = 0;
/** The runtime under test, on the core's store with its loads counted. */
const runtime = () =>
  createCallRuntime({
    prefix,
    store: {
      ...core.store,
      load: (callId) => {
        loads += 1;
        return core.store.load(callId);
      },
    },
    queues: core.queues,
  });

/** How many times `run` loaded a call. */
async function counted<T>(run: () => Promise<T>): Promise<{ result: T; loads: number }> {
  const before = loads;
  const result = await run();
  return { result, loads: loads - before };
}

const version = async (callId: string) =>
  Number(await observer.hget(callKeys(prefix, callId).call, 'v'));

describe('an invite', () => {
  let rt: ReturnType<typeof runtime>;
  beforeAll(() => {
    rt = runtime();
  });

  it('commits a new call without loading it first', async () => {
    const { result, loads } = await counted(() =>
      rt.applyEvent('new-1', incoming('new-1', Date.now()), { dedupId: 'n-1' }),
    );
    expect(result).toMatchObject({ outcome: 'committed', version: 1, to: 'answering' });
    expect(loads).toBe(0);
    expect(await core.queues.graph.getJob('new-1-answer-g1')).toBeDefined();
  });

  it('is a duplicate when the same delivery comes again, still without a load', async () => {
    await rt.applyEvent('dup-1', incoming('dup-1', Date.now()), { dedupId: 'd-1' });
    const { result, loads } = await counted(() =>
      rt.applyEvent('dup-1', incoming('dup-1', Date.now()), { dedupId: 'd-1' }),
    );
    expect(result).toEqual({ outcome: 'duplicate' });
    expect(loads).toBe(0);
    expect(await version('dup-1')).toBe(1);
  });

  it('loads the call once the commit says it exists, and changes nothing', async () => {
    await rt.applyEvent('again-1', incoming('again-1', Date.now()), { dedupId: 'a-1' });
    // another delivery of an invite for the same call (not a byte-identical copy)
    const { result, loads } = await counted(() =>
      rt.applyEvent('again-1', incoming('again-1', Date.now() + 7), { dedupId: 'a-2' }),
    );
    expect(result).toEqual({ outcome: 'ignored', state: 'answering' });
    expect(loads).toBe(1);
    expect(await version('again-1')).toBe(1);
    // the refused first try claimed no dedup token: the delivery counts as not applied
    expect(await core.store.seen('again-1', 'a-2')).toBe(false);
    expect(await core.store.seen('again-1', 'a-1')).toBe(true);
  });

  it("refuses another tenant's invite for a stored call, found by the load that follows", async () => {
    await rt.applyEvent('owned-1', incoming('owned-1', Date.now()), { tenantId: 't1' });
    const foreign = incoming('owned-1', Date.now());
    foreign.invite.tenantId = 't2';
    const { result, loads } = await counted(() =>
      rt.applyEvent('owned-1', foreign, { tenantId: 't2', dedupId: 'f-1' }),
    );
    expect(result).toEqual({ outcome: 'foreign-tenant' });
    expect(loads).toBe(1);
    expect(await version('owned-1')).toBe(1);
  });

  it('hands its jobs to BullMQ side by side, not one after the other', async () => {
    let started = 0;
    let inFlight = 0;
    let most = 0;
    const gated = createCallRuntime({
      prefix,
      store: core.store,
      queues: {
        async enqueue(effect: EffectRecord, ride) {
          started += 1;
          inFlight += 1;
          most = Math.max(most, inFlight);
          // held until a second effect has started, or 1 s: one after the other shows as 1
          const until = Date.now() + 1000;
          while (started < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
          await core.queues.enqueue(effect, ride);
          inFlight -= 1;
        },
      },
    });
    const result = await gated.applyEvent('pair-1', incoming('pair-1', Date.now()));
    // the answer, the answer-deadline timer and the live-calls index
    expect(result).toMatchObject({ outcome: 'committed', effects: 3 });
    expect(most).toBe(3);
    expect(await core.queues.graph.getJob('pair-1-answer-g1')).toBeDefined();
    expect(await core.queues.timers.getJob('pair-1-answerDeadline-g2')).toBeDefined();
  });
});
