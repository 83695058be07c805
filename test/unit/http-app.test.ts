/**
 * The ingress's HTTP answers as a value: `createApp` over in-memory fakes of the call runtime
 * and the token verifier, driven through `app.request()`. No Redis, no socket: what each status
 * means to Teams (retry, give up, stop) is checked here in milliseconds; the same routes against
 * the real runtime and verifier are covered by the hostile and integration tests.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createApp, MAX_JSON_DEPTH, type Readiness } from '../../src/http/app.js';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';
import { fakeRuntime, fakeVerifier, type FakeRuntime } from '../helpers/fakes.js';

const TENANT = '5d3c1b2a-9f8e-4d7c-8b6a-5f4e3d2c1b0a';
const TOKEN = 'tenant-token';
const ADMIN = 'admin-secret';
const MAX_BODY = 4096;

function build(
  readiness: Readiness = { ready: true, checks: { redis: true, activeCalls: 3, capacityLeft: 7 } },
): { app: ReturnType<typeof createApp>; runtime: FakeRuntime } {
  const runtime = fakeRuntime();
  const app = createApp({
    runtime,
    policy: DEFAULT_POLICY,
    answerDeadlineMs: 5000,
    callSettings: {
      keepAliveIntervalMs: 60_000,
      mediaArrivalTimeoutMs: 10_000,
      effectBudgetMs: 30_000,
    },
    rosterMode: 'full',
    verifier: fakeVerifier({ [TOKEN]: TENANT }),
    maxBodyBytes: MAX_BODY,
    adminToken: ADMIN,
    readiness: () => Promise.resolve(readiness),
    logger: pino({ level: 'silent' }),
    now: () => 1_000_000,
  });
  return { app, runtime };
}

const established = (callId = 'call-1') => ({
  value: [
    {
      changeType: 'updated',
      resourceUrl: `/communications/calls/${callId}`,
      resourceData: { id: callId, state: 'established' },
    },
  ],
});

function post(
  app: ReturnType<typeof createApp>,
  body: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return Promise.resolve(
    app.request('/api/calling', {
      method: 'POST',
      body,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
    }),
  );
}

describe('POST /api/calling', () => {
  it.each([
    ['no Authorization header', undefined],
    ['an unknown token', 'Bearer forged'],
    ['another scheme', `Basic ${Buffer.from('a:b').toString('base64')}`],
  ])('answers 401 with a challenge for %s, before reading the body', async (_name, auth) => {
    const { app, runtime } = build();
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (auth !== undefined) headers.authorization = auth;
    const res = await app.request('/api/calling', { method: 'POST', body: '{not json', headers });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(await res.json()).toMatchObject({ error: { code: 'unauthorized' } });
    expect(runtime.applied).toEqual([]);
  });

  it('answers 202 only once the event was applied, with the call and the tenant', async () => {
    const { app, runtime } = build();
    const res = await post(app, JSON.stringify(established('call-42')));
    expect(res.status).toBe(202);
    expect(runtime.applied).toHaveLength(1);
    const [applied] = runtime.applied;
    expect(applied?.callId).toBe('call-42');
    expect(applied?.event).toEqual({ type: 'CALL.ESTABLISHED', at: 1_000_000 });
    expect(applied?.options?.tenantId).toBe(TENANT);
    // without a delivery id nothing is deduplicated
    expect(applied?.options?.dedupId).toBeUndefined();
  });

  it('dedups by the original message id, which a redelivery keeps', async () => {
    const { app, runtime } = build();
    const body = JSON.stringify(established());
    const send = (original: string, message: string) =>
      post(app, body, {
        'x-microsoft-skype-original-message-id': original,
        'x-microsoft-skype-message-id': message,
      });
    for (const res of [await send('orig-1', 'msg-1'), await send('orig-1', 'msg-2')]) {
      expect(res.status).toBe(202);
    }
    expect((await send('orig-2', 'msg-3')).status).toBe(202);
    expect((await post(app, body, { 'x-microsoft-skype-message-id': 'msg-4' })).status).toBe(202);
    const ids = runtime.applied.map((a) => a.options?.dedupId);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(ids[1]).toBe(ids[0]); // a redelivery: same original id, new message id
    expect(ids[2]).not.toBe(ids[0]); // a new delivery
    expect(ids[3]).not.toBe(ids[0]); // only the message id: that is the identity
    expect(ids[3]).not.toBe(ids[2]);
  });

  it('gives each notification of one delivery its own dedup id', async () => {
    const { app, runtime } = build();
    const two = { value: [...established('call-a').value, ...established('call-b').value] };
    const res = await post(app, JSON.stringify(two), {
      'x-microsoft-skype-original-message-id': 'orig-batch',
    });
    expect(res.status).toBe(202);
    expect(runtime.applied.map((a) => a.callId).sort()).toEqual(['call-a', 'call-b']);
    const [a, b] = runtime.applied.map((x) => x.options?.dedupId);
    expect(a).not.toBe(b);
  });

  it('answers 403 when the call belongs to another tenant', async () => {
    const { app, runtime } = build();
    runtime.outcome = { outcome: 'foreign-tenant' };
    const res = await post(app, JSON.stringify(established()));
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: 'wrong_tenant' } });
  });

  it.each([
    ['a duplicate', { outcome: 'duplicate' } as const],
    ['an ignored event', { outcome: 'ignored', state: 'done' } as const],
  ])('answers 202 for %s (Teams must not redeliver it)', async (_name, outcome) => {
    const { app, runtime } = build();
    runtime.outcome = outcome;
    expect((await post(app, JSON.stringify(established()))).status).toBe(202);
  });

  it('answers 503 when the runtime cannot commit, so Teams delivers again', async () => {
    const { app, runtime } = build();
    runtime.applyEvent = () => Promise.reject(new Error('redis down'));
    const res = await post(app, JSON.stringify(established()));
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: 'unavailable' } });
  });

  it.each([
    ['text/plain', 'text/plain'],
    ['no content type', ''],
    ['application/json-patch+xml', 'application/json-patch+xml'],
    ['application/xml', 'application/xml'],
  ])('answers 415 for %s', async (_name, type) => {
    const { app, runtime } = build();
    const res = await post(app, JSON.stringify(established()), { 'content-type': type });
    expect(res.status).toBe(415);
    expect(runtime.applied).toEqual([]);
  });

  it.each(['application/json; charset=utf-8', 'application/vnd.teams+json'])(
    'accepts %s',
    async (type) => {
      const { app } = build();
      expect(
        (await post(app, JSON.stringify(established()), { 'content-type': type })).status,
      ).toBe(202);
    },
  );

  it.each([
    ['malformed JSON', '{"value": [', 'malformed_json'],
    ['JSON that is not a notification', '{"hello": 1}', 'invalid_notification'],
    ['an empty value list', '{"value": []}', 'invalid_notification'],
    [
      'a notification without a resource',
      '{"value": [{"changeType": "updated"}]}',
      'invalid_notification',
    ],
    [
      'JSON nested too deep',
      `{"value": ${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}}`,
      'too_deep',
    ],
  ])('answers 400 for %s', async (_name, body, code) => {
    const { app, runtime } = build();
    const res = await post(app, body);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code } });
    expect(runtime.applied).toEqual([]);
  });

  it('answers 413 with Connection: close for a body over the limit', async () => {
    const { app, runtime } = build();
    const res = await post(app, JSON.stringify({ value: [], pad: 'x'.repeat(MAX_BODY) }));
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    expect(runtime.applied).toEqual([]);
  });

  it('answers 204 to the legacy notification shape and applies nothing', async () => {
    const { app, runtime } = build();
    const res = await post(app, JSON.stringify({ callState: 'established', id: 'x' }));
    expect(res.status).toBe(204);
    expect(runtime.applied).toEqual([]);
  });

  it('answers 202 to a notification it does not act on, applying nothing', async () => {
    const { app, runtime } = build();
    const op = {
      value: [{ changeType: 'updated', resourceUrl: '/communications/calls/c1/operations/o1' }],
    };
    expect((await post(app, JSON.stringify(op))).status).toBe(202);
    expect(runtime.applied).toEqual([]);
  });
});

describe('probes and unknown routes', () => {
  it('/healthz answers 200 without a token', async () => {
    const res = await build().app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz hides the load from an anonymous caller and shows it to the admin', async () => {
    const { app } = build();
    const anonymous = await app.request('/readyz');
    expect(anonymous.status).toBe(200);
    expect(await anonymous.json()).toEqual({ ready: true, checks: { redis: true } });
    const wrong = await app.request('/readyz', { headers: { authorization: 'Bearer nope' } });
    expect(await wrong.json()).toEqual({ ready: true, checks: { redis: true } });
    const admin = await app.request('/readyz', { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(await admin.json()).toEqual({
      ready: true,
      checks: { redis: true, activeCalls: 3, capacityLeft: 7 },
    });
  });

  it('/readyz answers 503 when not ready', async () => {
    const { app } = build({ ready: false, checks: { redis: false } });
    const res = await app.request('/readyz');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ready: false, checks: { redis: false } });
  });

  it('answers 404 in JSON for an unknown route', async () => {
    const res = await build().app.request('/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'not_found' } });
  });
});
