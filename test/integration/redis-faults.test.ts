/**
 * Redis going away under a running system. While Redis is unreachable the
 * ingress answers 503 quickly (Teams may retry; the simulator is told to), commits nothing
 * half-way, and recovers by itself when Redis returns. The test owns a private redis-server
 * (append-only file, same port across restarts) and stops, restarts and freezes it mid-run.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queuePrefix } from '../../src/redis/keys.js';
import { QUEUE } from '../../src/queues/jobs.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { callReaches, eventually, startSystem, type System } from '../helpers/system.js';

/**
 * "Quickly": far below the 5 s after which Teams counts a delivery as unanswered
 * (docs/teams-protocol.md#delivery).
 */
const FAST_MS = 2000;
/** The simulator's answer deadline (its default) and the ingress's (ANSWER_DEADLINE_MS). */
const DEADLINE_MS = 5000;
/** How long Redis stays down. */
const OUTAGE_MS = 1500;

let redis: RedisServer;
let system: System;
let inspect: Redis;

beforeAll(async () => {
  redis = await startRedisServer();
  system = await startSystem({
    name: 'redis-faults',
    env: { REDIS_URL: redis.url },
    // Teams-like redelivery: 503s are tried again, ~every 0.5 s for ~4 s
    sim: { deliveryRetry: { attempts: 9, backoffMs: [250, 500] } },
  });
  // commands fail at once while Redis is down instead of queueing
  inspect = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  inspect.on('error', () => undefined);
});
afterAll(async () => {
  // the system's own shutdown needs its Redis
  redis?.resume();
  if (redis && !redis.running) await redis.start();
  inspect?.disconnect();
  await system?.close();
  await redis?.close();
});

/** A request's status (0 = no reply within `waitMs`) and how long it took. */
async function timed(
  url: string,
  init?: RequestInit,
  waitMs = 6000,
): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  // bounded, so a hang fails an assertion instead of the whole test timing out
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(waitMs) }).catch(
    (err: Error) => ({ status: 0, text: () => Promise.resolve(err.message) }),
  );
  await res.text();
  return { status: res.status, ms: performance.now() - started };
}

const readyz = (waitMs?: number) => timed(`${system.ingress.url}/readyz`, {}, waitMs);

/** One signed invite POSTed straight to the ingress: exactly one attempt, never retried. */
async function postInvite(callId: string, waitMs?: number) {
  const tenantId = system.sim.defaultTenantId;
  const token = await system.sim.signToken({ tenantId });
  const init = {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(system.sim.inviteBody({ callId, tenantId })),
  };
  return timed(`${system.ingress.url}/api/calling`, init, waitMs);
}

async function keysOf(callId: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await inspect.scan(cursor, 'MATCH', `*${callId}*`, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

/**
 * Nothing half-way: a call is either absent from Redis altogether, or it has a snapshot
 * (version >= 1) and its answer effect is in BullMQ or still in its outbox — never an outbox,
 * history or job without the snapshot that explains it.
 */
async function wholeOrNothing(callId: string): Promise<'absent' | 'whole'> {
  const keys = await keysOf(callId);
  if (keys.length === 0) return 'absent';
  const call = await system.core.runtime.getCall(callId);
  expect(call, `keys without a snapshot: ${keys.join(', ')}`).toBeDefined();
  expect(call!.version).toBeGreaterThanOrEqual(1);
  // the answer job is queued, or finished (dropped, its id remembered), or still in the outbox
  const jobId = `${callId}-answer-g1`;
  const job = await system.core.queues.graph.getJob(jobId);
  const remembered = await inspect.exists(
    `${queuePrefix(system.prefix)}:${QUEUE.graph}:de:${jobId}`,
  );
  const outbox = await system.core.store.readOutbox(callId, 100);
  const inOutbox = outbox.some((e) => e.effect.name === 'answer');
  expect(job !== undefined || remembered === 1 || inOutbox).toBe(true);
  return 'whole';
}

/** The call's version once nothing has changed it for a while. */
async function settled(callId: string) {
  return eventually(
    async () => {
      const first = await system.core.runtime.getCall(callId);
      await sleep(300);
      const second = await system.core.runtime.getCall(callId);
      return first && second && first.version === second.version ? second : undefined;
    },
    8000,
    `call ${callId} to settle`,
  );
}

const ready = () =>
  eventually(
    async () => ((await readyz()).status === 200 ? true : undefined),
    10_000,
    '/readyz to answer 200',
  );

describe('Redis faults', () => {
  it('while Redis is down: fast 503s, no half commits, and recovery by itself', async () => {
    const { sim } = system;
    // an established call before the outage
    const a = await sim.placeCall({ initialRoster: false });
    await a.waitFor('established', 8000);
    await callReaches(system, a.id, 'established');
    const before = await settled(a.id);
    await ready();

    await redis.stop();
    const downAt = Date.now();
    const notReady = await readyz();
    expect(notReady.status).toBe(503);
    expect(notReady.ms).toBeLessThan(FAST_MS);

    // an invite Teams sends once: refused fast, so Teams may try again in time
    const refusedId = randomUUID();
    const refused = await postInvite(refusedId);
    expect(refused).toMatchObject({ status: 503 });
    expect(refused.ms).toBeLessThan(FAST_MS);

    // an invite the simulator keeps redelivering until Redis is back
    const retriedId = randomUUID();
    const placing = sim.placeCall({ callId: retriedId, initialRoster: false });
    const first = await eventually(
      () => sim.deliveries.find((d) => d.callId === retriedId && d.attempt === 1),
      FAST_MS + 1000,
      'the first delivery of the invite',
    );
    expect(first.status).toBe(503);
    expect(first.latencyMs).toBeLessThan(FAST_MS);

    // nothing crashed: the ingress still serves, the workers still run
    expect((await timed(`${system.ingress.url}/healthz`)).status).toBe(200);
    expect(system.workers!.isRunning()).toBe(true);

    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - downAt)));
    await redis.start();
    await ready();

    // the redelivered invite was answered once Redis was back, before the deadline
    const b = await placing;
    await b.waitFor('established', 8000);
    const tries = sim.deliveries.filter((d) => d.callId === retriedId && d.kind === 'incoming');
    expect(tries.length).toBeGreaterThan(1);
    expect(tries.slice(0, -1).every((d) => d.status === 503 && d.latencyMs < FAST_MS)).toBe(true);
    expect(tries.at(-1)!.status).toBe(202);
    const answers = sim.requests.filter((r) => r.route === 'answer' && r.callId === retriedId);
    expect(answers.length).toBeGreaterThan(0);
    for (const r of answers) expect(r.at).toBeLessThan(b.invitedAt + DEADLINE_MS);
    expect(await wholeOrNothing(retriedId)).toBe('whole');
    // the invite that was refused once and never sent again left nothing behind
    expect(await wholeOrNothing(refusedId)).toBe('absent');

    // the established call came back exactly as it was
    const after = await system.core.runtime.getCall(a.id);
    expect(after?.version).toBe(before.version);
    expect(after?.snapshot.value).toEqual(before.snapshot.value);
    expect(a.state).toBe('established');

    // and a new call goes through normally
    const c = await sim.placeCall({ initialRoster: false });
    await c.waitFor('established', 8000);
    expect(c.answer!.at - c.invitedAt).toBeLessThan(DEADLINE_MS);
    expect(sim.deliveries.filter((d) => d.callId === c.id && d.attempt > 1)).toEqual([]);
  });

  // The ingress's command connection has a command timeout (src/roles/core.ts): against a Redis
  // that keeps the connection open and never replies, /readyz and applyEvent still fail fast.
  it('while Redis hangs (SIGSTOP): still a 503 well before Teams gives up', async () => {
    await ready();
    redis.pause();
    try {
      const notReady = await readyz(FAST_MS + 500);
      const refused = await postInvite(randomUUID(), FAST_MS + 500);
      expect({ readyz: notReady.status, invite: refused.status }).toEqual({
        readyz: 503,
        invite: 503,
      });
      expect(Math.max(notReady.ms, refused.ms)).toBeLessThan(FAST_MS);
    } finally {
      redis.resume();
    }
  });

  it('after a hang, the system works again by itself', async () => {
    expect(redis.running).toBe(true);
    await ready();
    const c = await system.sim.placeCall({ initialRoster: false });
    await c.waitFor('established', 8000);
    expect(c.answer!.at - c.invitedAt).toBeLessThan(DEADLINE_MS);
  });
});
