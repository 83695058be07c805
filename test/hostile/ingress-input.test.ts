/**
 * Hostile notifications with valid tokens, against the whole system (simulator, ingress,
 * workers, Redis): another tenant's token on a live call, oversized ids, malformed escapes,
 * deep nesting, content types, and what `/readyz` tells a stranger.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plainRedis } from '../helpers/redis.js';
import { placeEstablished, startSystem, type System } from '../helpers/system.js';

const OTHER_TENANT = 'bbbbbbbb-2222-4333-8444-555555555555';
const ADMIN_TOKEN = 'hostile-input-operator-token';
let system: System;

beforeAll(async () => {
  system = await startSystem({ name: 'hostile-input', env: { ADMIN_TOKEN } });
});
afterAll(async () => {
  await system?.close();
});

const webhook = () => `${system.ingress.url}/api/calling`;

async function post(
  body: string,
  tenantId = system.sim.defaultTenantId,
  headers: Record<string, string> = {},
): Promise<Response> {
  const token = await system.sim.signToken({ tenantId });
  return fetch(webhook(), {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body,
  });
}

/** Every key of this system: what a refused request must not change. */
async function keysOf(match: string): Promise<string[]> {
  const redis = plainRedis();
  try {
    // the outbox index is emptied lazily by the sweeper, in the background: not a write
    return (await redis.keys(`${system.prefix}:${match}`))
      .filter((k) => !k.endsWith(':outbox-pending'))
      .sort();
  } finally {
    await redis.quit();
  }
}

describe("another tenant's token", () => {
  it('cannot end, advance or repopulate a live call of this tenant: 403, nothing written', async () => {
    const call = await placeEstablished(system);
    const before = await system.core.runtime.getCall(call.id);
    const at = `/communications/calls/${call.id}`;
    const attacks = [
      { changeType: 'deleted', resourceUrl: at, resourceData: { state: 'terminated' } },
      { changeType: 'updated', resourceUrl: at, resourceData: { state: 'terminating' } },
      {
        changeType: 'updated',
        resourceUrl: `${at}/participants`,
        resourceData: [{ id: 'intruder', info: { identity: { user: { id: 'mallory' } } } }],
      },
      { changeType: 'created', resourceUrl: at, resourceData: { state: 'incoming' } },
    ];
    for (const n of attacks) {
      const res = await post(JSON.stringify({ value: [n] }), OTHER_TENANT);
      expect(res.status, JSON.stringify(n)).toBe(403);
      expect(await res.json()).toMatchObject({ error: { code: 'wrong_tenant' } });
    }
    const after = await system.core.runtime.getCall(call.id);
    // (the version may move on with the call's own callbacks; the refused ones changed nothing)
    expect(after?.snapshot.status).toBe('active');
    expect(after?.snapshot.value).toEqual(before?.snapshot.value);
    expect(JSON.stringify(after?.snapshot.context)).not.toContain('intruder');
    expect(call.state).toBe('established');
    // the same roster notification under the call's own tenant is taken (the check is the tenant)
    const own = await post(JSON.stringify({ value: [attacks[2]] }));
    expect(own.status).toBe(202);
    expect(
      JSON.stringify((await system.core.runtime.getCall(call.id))?.snapshot.context),
    ).toContain('intruder');
    await call.hangUp?.();
  });
});

describe('malformed input gets a 4xx, never a 503', () => {
  it('a bad percent-escape in the resource path is not a call (no URIError)', async () => {
    const before = await keysOf('*');
    const body = {
      value: [
        {
          changeType: 'created',
          resourceUrl: '/communications/calls/%E0%A4%A',
          resourceData: { state: 'incoming' },
        },
      ],
    };
    const res = await post(JSON.stringify(body));
    expect(res.status).toBe(202);
    expect(await keysOf('*')).toEqual(before);
  });

  it('JSON nested 10,000 deep → 400 too_deep', async () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    for (const body of [
      `{"value":[{"changeType":"created","resourceUrl":"/communications/calls/deep-1","resourceData":{"x":${deep}}}]}`,
      deep,
      `{"value":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`,
    ]) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: 'too_deep' } });
    }
    expect(await system.core.runtime.getCall('deep-1')).toBeUndefined();
  });

  it('an invite with a 200 KB user id is refused (400) and nothing of it is kept', async () => {
    const body = system.sim.inviteBody({ kind: 'p2p', callId: 'huge-user' }) as {
      value: Array<{ resourceData: { source: { identity: { user: { id: string } } } } }>;
    };
    body.value[0]!.resourceData.source = { identity: { user: { id: 'u'.repeat(200_000) } } };
    const res = await fetch(webhook(), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await system.sim.signToken({ tenantId: system.sim.defaultTenantId })}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify(body),
    });
    // 413 under the default 256 KB body limit would also be fine; this body is 200 KB
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_notification' } });
    expect(await system.core.runtime.getCall('huge-user')).toBeUndefined();
  });

  it('each id field of an invite is capped', async () => {
    const long = 'x'.repeat(257);
    const invite = () =>
      system.sim.inviteBody({ kind: 'p2p', callId: 'long-ids' }) as {
        value: Array<{ resourceData: Record<string, unknown> }>;
      };
    const mutations: Array<(d: Record<string, unknown>) => void> = [
      (d) => (d.callChainId = long),
      (d) => (d.myParticipantId = long),
      (d) => (d.chatInfo = { threadId: long }),
      (d) => (d.incomingContext = { sourceParticipantId: long }),
      (d) => (d.applicationMetadata = { botData: { user: { policyHolderId: long } } }),
    ];
    for (const mutate of mutations) {
      const body = invite();
      mutate(body.value[0]!.resourceData);
      const res = await post(JSON.stringify(body));
      expect(res.status, mutate.toString()).toBe(400);
    }
    expect(await system.core.runtime.getCall('long-ids')).toBeUndefined();
  });

  it('application/json-patch+xml is not JSON (415); application/json; charset=utf-8 is', async () => {
    const body = JSON.stringify(system.sim.inviteBody({ kind: 'p2p', callId: 'ctype-1' }));
    for (const type of ['application/json-patch+xml', 'application/jsonp', 'text/json']) {
      const res = await post(body, undefined, { 'content-type': type });
      expect(res.status, type).toBe(415);
    }
    expect(await system.core.runtime.getCall('ctype-1')).toBeUndefined();
    const ok = await post(body, undefined, { 'content-type': 'application/json; charset=utf-8' });
    expect(ok.status).toBe(202);
  });
});

describe('/readyz', () => {
  it('tells a stranger whether it is ready, not how many calls it holds; the operator sees both', async () => {
    const anonymous = await fetch(`${system.ingress.url}/readyz`);
    expect(anonymous.status).toBe(200);
    const shown = (await anonymous.json()) as { checks: Record<string, unknown> };
    expect(shown.checks).toMatchObject({ redis: true, teamsKeys: true });
    expect(shown.checks).not.toHaveProperty('activeCalls');
    const wrong = await fetch(`${system.ingress.url}/readyz`, {
      headers: { authorization: 'Bearer not-the-operator-token' },
    });
    expect(await wrong.json()).not.toHaveProperty('checks.activeCalls');
    const operator = await fetch(`${system.ingress.url}/readyz`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(await operator.json()).toHaveProperty('checks.activeCalls');
  });
});
