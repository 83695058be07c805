/**
 * The operator API's HTTP behaviour as a value: `createApp` with in-memory fakes of the call
 * reader, the list and the runtime, through `app.request()`. The bearer token (401), the
 * per-client rate limit (429), bad input (400), the error shape `{ error, message }`, the
 * machine definition, the console's config and the OpenAPI document. The same routes against
 * real Redis and the simulator are in test/integration/admin-api.test.ts.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CALL_MACHINE_VERSION } from '../../machines/call.js';
import type { CallFilter } from '../../src/admin/call-list.js';
import { decodeCursor, encodeCursor } from '../../src/admin/call-list.js';
import type { CallDetail } from '../../src/admin/call-view.js';
import { createApp } from '../../src/http/app.js';
import type { AdminApiDeps } from '../../src/http/admin.js';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';
import { fakeRuntime, fakeVerifier } from '../helpers/fakes.js';

const ADMIN = 'admin-token-for-unit-tests';
const auth = { authorization: `Bearer ${ADMIN}` };

const DETAIL: CallDetail = {
  callId: 'call-1',
  tenantId: 't1',
  kind: 'p2p',
  state: 'live.established.recording',
  live: true,
  receivedAt: 1000,
  updatedAt: 2000,
  failed: false,
  version: 5,
  participants: [],
  tracks: [],
  recordingReports: [],
  history: [],
  historyDropped: 0,
};

function build(options: { adminToken?: string; perMinute?: number; jaeger?: string } = {}) {
  const filters: CallFilter[] = [];
  const api: AdminApiDeps = {
    reader: {
      summary: () => Promise.resolve(undefined),
      detail: (id) => Promise.resolve(id === 'call-1' ? DETAIL : undefined),
    },
    list: (filter) => {
      filters.push(filter);
      return Promise.resolve({ calls: [DETAIL] });
    },
    rateLimitPerMinute: options.perMinute ?? 1000,
    jaegerUiUrl: options.jaeger,
  };
  const runtime = fakeRuntime();
  const app = createApp({
    runtime,
    policy: DEFAULT_POLICY,
    answerDeadlineMs: 5000,
    callSettings: { keepAliveIntervalMs: 60_000, mediaArrivalTimeoutMs: 10_000, effectBudgetMs: 1 },
    rosterMode: 'full',
    verifier: fakeVerifier({}),
    maxBodyBytes: 4096,
    ...('adminToken' in options ? { adminToken: options.adminToken } : { adminToken: ADMIN }),
    adminApi: api,
    readiness: () => Promise.resolve({ ready: true, checks: {} }),
    logger: pino({ level: 'silent' }),
    now: () => 1_000_000,
  });
  return { app, filters, runtime };
}

describe('operator API over HTTP', () => {
  it('refuses a missing or wrong token with 401 { error, message }', async () => {
    const { app } = build();
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: `Bearer ${ADMIN}x` },
      { authorization: ADMIN },
    ];
    for (const headers of attempts) {
      const res = await app.request('/admin/api/calls', { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('Bearer');
      const body = (await res.json()) as { error: string; message: string };
      expect(body.error).toBe('unauthorized');
      expect(typeof body.message).toBe('string');
      expect(JSON.stringify(body)).not.toContain(ADMIN);
    }
  });

  it('has no routes at all when ADMIN_TOKEN is unset', async () => {
    const { app } = build({ adminToken: undefined });
    expect((await app.request('/admin/api/calls', { headers: auth })).status).toBe(404);
    expect((await app.request('/admin/api/machine', { headers: auth })).status).toBe(404);
  });

  it('limits each client with a token bucket: 429 with Retry-After, guesses included', async () => {
    const { app } = build({ perMinute: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      statuses.push((await app.request('/admin/api/config', { headers: auth })).status);
    }
    const guess = await app.request('/admin/api/config', {
      headers: { authorization: 'Bearer x' },
    });
    expect(statuses).toEqual([200, 200, 200]);
    expect(guess.status).toBe(429);
    expect(Number(guess.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await guess.json()).toMatchObject({ error: 'rate_limited' });
  });

  it('answers 400 for bad ids, filters, cursors and resume ids', async () => {
    const { app } = build();
    const cases: Array<[string, Record<string, string>, string]> = [
      ['/admin/api/calls/bad%20id', {}, 'invalid_call_id'],
      ['/admin/api/calls?limit=0', {}, 'invalid_query'],
      ['/admin/api/calls?limit=500', {}, 'invalid_query'],
      ['/admin/api/calls?failed=maybe', {}, 'invalid_query'],
      ['/admin/api/calls?from=yesterday', {}, 'invalid_query'],
      ['/admin/api/calls?from=20&to=10', {}, 'invalid_query'],
      ['/admin/api/calls?state=%3Cscript%3E', {}, 'invalid_query'],
      [`/admin/api/calls?tenant=${'x'.repeat(300)}`, {}, 'invalid_query'],
      ['/admin/api/events', { 'last-event-id': 'not-an-id' }, 'invalid_last_event_id'],
      ['/admin/api/events?callId=..%2F..', {}, 'invalid_call_id'],
    ];
    for (const [path, headers, error] of cases) {
      const res = await app.request(path, { headers: { ...auth, ...headers } });
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(await res.json()).toMatchObject({ error });
    }
    const hangup = await app.request('/admin/api/calls/a%20b/hangup', {
      method: 'POST',
      headers: auth,
    });
    expect(hangup.status).toBe(400);
  });

  it('passes the filters through, and 404s an unknown call', async () => {
    const { app, filters } = build();
    const res = await app.request(
      '/admin/api/calls?state=recording&tenant=t1&user=u-1&failed=true&from=10&to=20&limit=5',
      { headers: auth },
    );
    expect(res.status).toBe(200);
    expect(filters[0]).toEqual({
      state: 'recording',
      tenant: 't1',
      user: 'u-1',
      failed: true,
      from: 10,
      to: 20,
    });
    expect((await app.request('/admin/api/calls/call-1', { headers: auth })).status).toBe(200);
    const missing = await app.request('/admin/api/calls/call-2', { headers: auth });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'not_found' });
  });

  it('hangs up through the runtime: 202, or 409 when the call is not live', async () => {
    const { app, runtime } = build();
    runtime.outcome = {
      outcome: 'committed',
      version: 3,
      from: 'live.established.recording',
      to: 'live.ending.stoppingMedia',
      effects: 1,
      conflicts: 0,
    };
    const ok = await app.request('/admin/api/calls/call-1/hangup', {
      method: 'POST',
      headers: auth,
    });
    expect(ok.status).toBe(202);
    expect(await ok.json()).toEqual({ callId: 'call-1', state: 'live.ending.stoppingMedia' });
    expect(runtime.applied[0]!.event).toMatchObject({ type: 'CALL.HANGUP', reason: 'operator' });
    runtime.outcome = { outcome: 'ignored', state: 'terminated' };
    const gone = await app.request('/admin/api/calls/call-1/hangup', {
      method: 'POST',
      headers: auth,
    });
    expect(gone.status).toBe(409);
  });

  it('serves the machine definition, the config and the OpenAPI document', async () => {
    const { app } = build({ jaeger: 'http://jaeger.example:16686' });
    const machine = (await (await app.request('/admin/api/machine', { headers: auth })).json()) as {
      id: string;
      version: number;
      definition: { states: Record<string, { id: string; on: object }> };
    };
    expect(machine.id).toBe('call');
    expect(machine.version).toBe(CALL_MACHINE_VERSION);
    expect(machine.definition.states.answering!.id).toBe('call.answering');
    expect(Object.keys(machine.definition.states.answering!.on)).toContain('GRAPH.ANSWER_ACCEPTED');
    expect(await (await app.request('/admin/api/config', { headers: auth })).json()).toEqual({
      jaegerUiUrl: 'http://jaeger.example:16686',
      machineVersion: CALL_MACHINE_VERSION,
    });
    const doc = (await (
      await app.request('/admin/api/openapi.json', { headers: auth })
    ).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    // every documented GET answers something other than 404 (the route exists)
    for (const [path, methods] of Object.entries(doc.paths)) {
      if (!('get' in methods) || path === '/events') continue;
      const res = await app.request(`/admin/api${path.replace('{id}', 'call-1')}`, {
        headers: auth,
      });
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
    }
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/calls',
        '/calls/{id}',
        '/calls/{id}/hangup',
        '/config',
        '/events',
        '/machine',
        '/openapi.json',
      ].sort(),
    );
  });

  it('the events route answers 503 without a feed, and the console paths stay free', async () => {
    const { app } = build();
    const res = await app.request('/admin/api/events', { headers: auth });
    expect(res.status).toBe(503);
    // /admin/ and /admin/assets/* are the console's static files, not the API's: no token asked
    expect([200, 503]).toContain((await app.request('/admin/')).status);
    expect((await app.request('/admin/assets/app.js')).status).toBe(404);
  });

  it('cursors round-trip and anything else is refused', () => {
    expect(decodeCursor(encodeCursor({ max: 1234, skip: 2 }))).toEqual({ max: 1234, skip: 2 });
    expect(() => decodeCursor('garbage!')).toThrow(/not a cursor/);
    expect(() => decodeCursor(Buffer.from('1:x').toString('base64url'))).toThrow();
  });
});
