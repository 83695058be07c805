/**
 * Bad input (docs/architecture.md#bad-input-changes-nothing): unauthenticated, malformed or
 * oversized requests get a clear 4xx, never reach a call's state and never enqueue work.
 *
 * Each group runs against a system of its own, and every check looks only at what its own test
 * could have changed (its call's keys and jobs, or what appeared since the test began): a
 * request wrongly let through fails the test that sent it, not every test after it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { callKeys } from '../../src/redis/keys.js';
import type { TokenMode } from '@cr-orchestrator/teams-simulator';
import { plainRedis } from '../helpers/redis.js';
import { startSystem, type System } from '../helpers/system.js';

const TENANT = '932899f8-2ea1-4604-8413-27bd2892079f';

/** A system for one describe block, started before its tests and closed after them. */
function systemFor(name: string): () => System {
  let system: System | undefined;
  beforeAll(async () => {
    system = await startSystem({ name, env: { MAX_BODY_BYTES: '4096' } });
  });
  afterAll(async () => {
    await system?.close();
  });
  return () => system!;
}

async function keysOf(system: System): Promise<string[]> {
  const redis = plainRedis();
  try {
    return await redis.keys(`${system.prefix}:*`);
  } finally {
    await redis.quit();
  }
}

const jobCount = async (system: System) =>
  Object.values(await system.core.queues.graph.getJobCounts()).reduce((a, b) => a + b, 0);

/** Nothing of call `callId` exists anywhere: no state, no job, no request to Graph. */
async function callUntouched(system: System, callId: string): Promise<void> {
  const keys = callKeys(system.prefix, callId);
  expect((await keysOf(system)).filter((k) => k.startsWith(keys.call))).toEqual([]);
  const jobs = await system.core.queues.graph.getJobs();
  expect(jobs.filter((j) => j.id?.startsWith(callId))).toEqual([]);
  expect(system.sim.requests.filter((r) => r.callId === callId)).toEqual([]);
}

describe('refused tokens change nothing', () => {
  const system = systemFor('badinput-tokens');
  const webhook = () => `${system().ingress.url}/api/calling`;
  const modes: TokenMode[] = [
    'expired',
    'wrongAudience',
    'wrongIssuer',
    'algNone',
    'unknownKid',
    'noTid',
    'badSignature',
  ];
  it.each(modes)('%s → 401', async (mode) => {
    const callId = `tok-${mode}`;
    const body = system().sim.inviteBody({ kind: 'p2p', callId, tenantId: TENANT });
    const res = await system().sim.deliver(body, {
      tenantId: TENANT,
      tokenMode: mode,
      url: webhook(),
    });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'unauthorized' } });
    await callUntouched(system(), callId);
  });

  it('no Authorization header → 401', async () => {
    const res = await fetch(webhook(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        system().sim.inviteBody({ kind: 'p2p', callId: 'no-auth', tenantId: TENANT }),
      ),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/Bearer/);
    await callUntouched(system(), 'no-auth');
  });
});

describe('malformed and oversized bodies', () => {
  const system = systemFor('badinput-bodies');
  const webhook = () => `${system().ingress.url}/api/calling`;
  // what existed before the test: a check sees only what its own request added
  let before: { keys: Set<string>; jobs: number; requests: number };
  beforeEach(async () => {
    before = {
      keys: new Set(await keysOf(system())),
      jobs: await jobCount(system()),
      requests: system().sim.requests.length,
    };
  });
  const nothingChanged = async () => {
    expect((await keysOf(system())).filter((k) => !before.keys.has(k))).toEqual([]);
    expect(await jobCount(system())).toBe(before.jobs);
    const graph = system()
      .sim.requests.slice(before.requests)
      .filter((r) => r.route === 'answer' || r.route === 'reject');
    expect(graph).toEqual([]);
  };
  const post = async (body: string | ReadableStream, headers: Record<string, string> = {}) => {
    const token = await system().sim.signToken({ tenantId: TENANT });
    return fetch(webhook(), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body,
      ...(typeof body === 'string' ? {} : { duplex: 'half' }),
    });
  };

  it('not JSON → 400', async () => {
    const res = await post('{"value": [');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'malformed_json' } });
    await nothingChanged();
  });

  it('JSON that is not a commsNotifications body → 400 naming the field', async () => {
    for (const body of [
      {},
      { value: [] },
      { value: [{ changeType: 'created' }] },
      { value: 'x' },
      [],
    ]) {
      const res = await post(JSON.stringify(body));
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: 'invalid_notification' } });
    }
    await nothingChanged();
  });

  it('a call id that could break key hashing is ignored, not stored', async () => {
    const body = system().sim.inviteBody({ kind: 'p2p', callId: 'ok-id', tenantId: TENANT }) as {
      value: Array<{ resourceUrl: string; resource: string }>;
    };
    body.value[0]!.resourceUrl = '/communications/calls/bad}{id';
    body.value[0]!.resource = '/app/calls/bad}{id';
    const res = await post(JSON.stringify(body));
    expect(res.status).toBe(202);
    await nothingChanged();
  });

  it('too large → 413, with a content-length and when streamed', async () => {
    const big = JSON.stringify({
      value: [{ changeType: 'created', resourceUrl: '/x', pad: 'x'.repeat(10_000) }],
    });
    const res = await post(big);
    expect(res.status).toBe(413);
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const streamed = await post(stream);
    expect(streamed.status).toBe(413);
    await nothingChanged();
  });

  it('wrong content type → 415', async () => {
    const res = await post('value=1', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(415);
    await nothingChanged();
  });

  it('the legacy (pre-Graph) notification shape → 204 so Teams resends it in Graph format', async () => {
    const res = await post(
      JSON.stringify({ id: 'legacy', callState: 'incoming', participants: [] }),
    );
    expect(res.status).toBe(204);
    await nothingChanged();
  });
});

describe('probes', () => {
  const system = systemFor('badinput-probes');
  it('healthz is 200 and readyz reports Redis, workers and capacity', async () => {
    expect((await fetch(`${system().ingress.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${system().ingress.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, checks: { redis: true } });
  });
});
