import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SimCall } from '../src/index.js';
import { answerBody, errorOf, isRosterOf, stateOf } from './bot-stub.js';
import { seededShapes, SUCCESS_SHAPES } from '../src/graph-replies.js';
import { startHarness, type Harness, GRAPH_SUCCESS } from './setup.js';

let h: Harness;
// Asymmetric matchers are typed `any`; holding them as `unknown` keeps the lint rules meaningful.
const anyString: unknown = expect.any(String);
const anyNumber: unknown = expect.any(Number);
const TENANT = '7e1e0000-0000-4000-8000-0000000000cc';
const OTHER_TENANT = '7e1e0000-0000-4000-8000-0000000000dd';

beforeAll(async () => {
  h = await startHarness({ answerDeadlineMs: 10_000 });
  await h.graph.token(TENANT); // warm msal's cache so answers are quick
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => h.sim.clearFaults());

const callsPath = (id: string, action = '') => `/communications/calls/${id}${action}`;
const answer = (call: SimCall, body: unknown = answerBody()) =>
  h.graph.post(callsPath(call.id, '/answer'), body, call.tenantId);
const place = () => h.sim.placeCall({ tenantId: TENANT });

describe('fake Graph requires a token from the fake Entra', () => {
  it('answers 401 with a Graph error without a token, with a webhook token or another tenant', async () => {
    const call = await place();
    const url = `${h.sim.graphBaseUrl}${callsPath(call.id, '/answer')}`;
    const init = (auth?: string): RequestInit => ({
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth && { authorization: auth }) },
      body: JSON.stringify(answerBody()),
    });
    const none = await fetch(url, init());
    expect(none.status).toBe(401);
    const err = await errorOf(none);
    expect(err.code).toBe('InvalidAuthenticationToken');
    expect(err.innerError).toMatchObject({
      'request-id': anyString,
      date: anyString,
    });
    const webhookToken = await h.sim.signToken({ tenantId: TENANT });
    expect((await fetch(url, init(`Bearer ${webhookToken}`))).status).toBe(401);
    const otherTenant = await h.graph.token(OTHER_TENANT);
    expect(
      (await h.graph.post(callsPath(call.id, '/answer'), answerBody(), TENANT, otherTenant)).status,
    ).toBe(401);
    expect(call.state).toBe('invited');
    expect(call.answerAttempts).toBe(3);
    expect((await answer(call)).status).toBeOneOf(GRAPH_SUCCESS);
    expect(call.state).toBe('answered');
  });

  it('accepts the SDK namespaced action name', async () => {
    const call = await place();
    const res = await h.graph.post(
      callsPath(call.id, '/microsoft.graph.answer'),
      answerBody(),
      TENANT,
    );
    expect(res.status).toBeOneOf(GRAPH_SUCCESS);
    expect(call.answer?.path).toBe(`/v1.0/communications/calls/${call.id}/microsoft.graph.answer`);
  });

  it('validates the answer body with 400 BadRequest and does not accept it', async () => {
    const call = await place();
    const bad = [
      { ...answerBody(), acceptedModalities: [] },
      {
        ...answerBody(),
        mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
      },
      {
        ...answerBody(),
        mediaConfig: { '@odata.type': '#microsoft.graph.appHostedMediaConfig', blob: '' },
      },
      answerBody('ftp://bot.example.com/callback'),
    ];
    for (const body of bad) {
      const res = await answer(call, body);
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe('BadRequest');
    }
    expect(call.state).toBe('invited');
    expect(call.answer).toBeUndefined();
    expect(call.answerAttempts).toBe(4);
  });

  it('answers 404 8522 for unknown calls', async () => {
    const res = await h.graph.post(callsPath('no-such-call', '/answer'), answerBody(), TENANT);
    expect(res.status).toBe(404);
    expect(await errorOf(res)).toMatchObject({
      code: '8522',
      message: 'Call not found.',
    });
  });

  it('logs every request with the authorization header redacted', async () => {
    const call = await place();
    const token = await h.graph.token(TENANT);
    await answer(call);
    const entry = h.sim.requests.find((r) => r.route === 'answer' && r.callId === call.id);
    expect(entry).toMatchObject({ method: 'POST', callId: call.id });
    expect(GRAPH_SUCCESS).toContain(entry?.status);
    expect(entry?.headers.authorization).toBe('Bearer <redacted>');
    expect(entry?.body).toMatchObject({ acceptedModalities: ['audio'] });
    expect(JSON.stringify(h.sim.requests)).not.toContain(token);
  });
});

describe('keepAlive and updateRecordingStatus', () => {
  it('keepAlive succeeds while the call is up and 404 once it ended', async () => {
    const call = await place();
    expect((await h.graph.post(callsPath(call.id, '/keepAlive'), undefined, TENANT)).status).toBe(
      404,
    );
    await answer(call);
    await call.waitFor('established');
    expect(
      (await h.graph.post(callsPath(call.id, '/keepAlive'), undefined, TENANT)).status,
    ).toBeOneOf(GRAPH_SUCCESS);
    expect(call.keepAlives).toHaveLength(1);
    await call.hangUp();
    const gone = await h.graph.post(callsPath(call.id, '/keepAlive'), undefined, TENANT);
    expect(gone.status).toBe(404);
    expect((await errorOf(gone)).code).toBe('8522');
  });

  it('updateRecordingStatus returns 200, Location and a completed operation, and is recorded', async () => {
    const call = await place();
    await answer(call);
    await call.waitFor('established');
    const res = await h.graph.post(
      callsPath(call.id, '/updateRecordingStatus'),
      { clientContext: 'ctx-1', status: 'recording' },
      TENANT,
    );
    expect(res.status).toBe(200);
    const op = (await res.json()) as Record<string, unknown>;
    expect(op).toMatchObject({
      '@odata.type': '#microsoft.graph.updateRecordingStatusOperation',
      clientContext: 'ctx-1',
      status: 'completed',
    });
    expect(res.headers.get('location')).toBe(
      `${h.sim.graphBaseUrl}/communications/calls/${call.id}/operations/${String(op.id)}`,
    );
    const bad = await h.graph.post(
      callsPath(call.id, '/updateRecordingStatus'),
      { status: 'paused' },
      TENANT,
    );
    expect(bad.status).toBe(400);
    expect(call.recordingStatusUpdates).toEqual([
      {
        at: anyNumber,
        status: 'recording',
        clientContext: 'ctx-1',
        accepted: true,
        httpStatus: 200,
      },
      { at: anyNumber, status: 'paused', accepted: false, httpStatus: 400 },
    ]);
  });
});

describe('fault injection', () => {
  it('a 429 fault returns a fractional Retry-After and TooManyRequests; the answer is not accepted', async () => {
    const call = await place();
    h.sim.addFault({ route: 'answer', status: 429, retryAfter: '2.128' });
    const limited = await answer(call);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2.128');
    expect((await errorOf(limited)).code).toBe('TooManyRequests');
    expect(call.state).toBe('invited');
    expect(call.answer).toBeUndefined();
    expect((await answer(call)).status).toBeOneOf(GRAPH_SUCCESS);
    expect(call.answerAttempts).toBe(2);
  });

  it('times: Infinity keeps failing until cleared; default status is 503', async () => {
    const call = await place();
    await answer(call);
    await call.waitFor('established');
    h.sim.addFault({ route: 'keepAlive', times: Infinity });
    for (let i = 0; i < 3; i += 1) {
      const res = await h.graph.post(callsPath(call.id, '/keepAlive'), undefined, TENANT);
      expect(res.status).toBe(503);
      expect((await errorOf(res)).code).toBe('ServiceUnavailable');
    }
    h.sim.clearFaults();
    expect(
      (await h.graph.post(callsPath(call.id, '/keepAlive'), undefined, TENANT)).status,
    ).toBeOneOf(GRAPH_SUCCESS);
  });

  it('a fault scoped to a call leaves other calls alone, and delayMs slows the reply', async () => {
    const [a, b] = [await place(), await place()];
    h.sim.addFault({ route: 'answer', callId: b.id, status: 500, delayMs: 300 });
    expect((await answer(a)).status).toBeOneOf(GRAPH_SUCCESS);
    const started = Date.now();
    expect((await answer(b)).status).toBe(500);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect((await answer(b)).status).toBeOneOf(GRAPH_SUCCESS);
  });

  it('a token fault makes the token endpoint fail', async () => {
    h.sim.addFault({ route: 'token', status: 503, retryAfter: '1' });
    const res = await fetch(`${h.sim.authorityHost}/${TENANT}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
  });

  it('GET returns the call with its current state', async () => {
    const call = await place();
    const cb = `${h.bot.url}/cb/${call.id}`;
    await answer(call, answerBody(cb));
    await call.waitFor('established');
    const res = await h.graph.request('GET', callsPath(call.id), TENANT);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: call.id, state: 'established', callbackUri: cb });
    // The initial roster follows the callbackUri too (docs/teams-protocol.md#callback-routing).
    await h.bot.next((r) => r.path === `/cb/${call.id}` && isRosterOf(call.id)(r));
    const atCallback = h.bot.received.filter((r) => r.path === `/cb/${call.id}`);
    expect(atCallback.filter((r) => !isRosterOf(call.id)(r)).map(stateOf)).toEqual([
      'establishing',
      'established',
    ]);
  });
});

describe('success shapes of Graph actions', () => {
  it('every five successes are the five shapes real Graph uses, reproducible from the seed', () => {
    const draw = seededShapes(42);
    const first = Array.from({ length: 10 }, () => draw());
    expect(new Set(first.slice(0, 5))).toEqual(new Set(SUCCESS_SHAPES));
    expect(new Set(first.slice(5))).toEqual(new Set(SUCCESS_SHAPES));
    const again = seededShapes(42);
    expect(Array.from({ length: 10 }, () => again())).toEqual(first);
  });

  it('answers each action with the next shape: statuses and bodies as real Graph sends them', async () => {
    const draw = seededShapes(h.sim.graphReplySeed);
    // the requests this harness made so far each drew one shape
    const drawnBefore = h.sim.requests.filter(
      (r) => ['answer', 'reject', 'delete', 'keepAlive'].includes(r.route) && r.status < 300,
    ).length;
    for (let i = 0; i < drawnBefore; i++) draw();
    const seen = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const call = await place();
      const res = await answer(call);
      const shape = draw();
      seen.add(shape);
      const text = await res.text();
      const type = res.headers.get('content-type') ?? '';
      switch (shape) {
        case 'empty-202':
          expect([res.status, text, type]).toEqual([202, '', '']);
          break;
        case 'empty-json-202':
          expect([res.status, text]).toEqual([202, '']);
          expect(type).toMatch(/^application\/json/);
          break;
        case 'empty-object-200':
          expect([res.status, text]).toEqual([200, '{}']);
          break;
        case 'operation-200':
          expect(res.status).toBe(200);
          expect(JSON.parse(text)).toMatchObject({
            '@odata.type': '#microsoft.graph.answerOperation',
            status: 'completed',
          });
          break;
        case 'no-content-204':
          expect([res.status, text]).toEqual([204, '']);
          break;
      }
    }
    expect(seen.size).toBeGreaterThanOrEqual(3);
  });
});
