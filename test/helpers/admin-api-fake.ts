/**
 * A stand-in for the operator API (`/admin/api/*`) for browser tests of the console's own
 * behaviour (sign-in, the event stream's reconnect and resume, keyboard use): the real console
 * files through the real `mountConsole`, a bearer check, the real machine definition, and calls
 * a test writes. Never used by product code; the end-to-end test runs the real ingress.
 */
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { callMachine, CALL_MACHINE_VERSION } from '../../machines/call.js';
import { mountConsole } from '../../src/http/console.js';

export interface FakeCall {
  callId: string;
  tenantId: string;
  kind: 'p2p' | 'meeting';
  state: string;
  live: boolean;
  receivedAt: number;
  updatedAt: number;
  failed: boolean;
  failure?: { kind: string; text: string };
  version: number;
  history: Array<{
    seq: number;
    event: string;
    from: string;
    to: string;
    at: number;
    traceId?: string;
  }>;
}

export interface FakeAdminApi {
  url: string;
  calls: Map<string, FakeCall>;
  /** Every request's URL and Authorization header, in order. */
  requests: Array<{ url: string; authorization: string | undefined; lastEventId?: string }>;
  /** Adds a step to a call (creating it) and sends it to every open event stream. */
  transition(callId: string, event: string, to: string, live?: boolean, traceId?: string): void;
  /** Accept another token from now on (the console's old one is refused). */
  setToken(token: string): void;
  /** Ends every open event stream (the console must reconnect and resume). */
  dropStreams(): void;
  close(): Promise<void>;
}

export async function startFakeAdminApi(token: string, consoleDir: string): Promise<FakeAdminApi> {
  const app = new Hono();
  let accepted = token;
  const calls = new Map<string, FakeCall>();
  const requests: FakeAdminApi['requests'] = [];
  const log: Array<{ id: number; data: string }> = [];
  const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const encoder = new TextEncoder();
  const frame = (e: { id: number; data: string }) =>
    encoder.encode(`id: ${e.id}\nevent: transition\ndata: ${e.data}\n\n`);

  mountConsole(app, consoleDir);
  app.use('/admin/api/*', async (c, next) => {
    requests.push({
      url: c.req.url,
      authorization: c.req.header('authorization'),
      lastEventId: c.req.header('last-event-id'),
    });
    if (c.req.header('authorization') !== `Bearer ${accepted}`)
      return c.json({ error: 'unauthorized', message: 'bearer token required' }, 401);
    await next();
  });
  app.get('/admin/api/config', (c) =>
    c.json({ machineVersion: CALL_MACHINE_VERSION, jaegerUiUrl: 'http://127.0.0.1:16686' }),
  );
  app.get('/admin/api/machine', (c) =>
    c.json({
      id: callMachine.id,
      version: CALL_MACHINE_VERSION,
      definition: callMachine.definition,
    }),
  );
  const summary = ({ history: _h, ...call }: FakeCall) => call;
  app.get('/admin/api/calls', (c) => {
    const failed = c.req.query('failed') === 'true';
    const list = [...calls.values()]
      .filter((x) => !failed || x.failed)
      .sort((a, b) => b.receivedAt - a.receivedAt);
    return c.json({ calls: list.map(summary) });
  });
  app.get('/admin/api/calls/:id', (c) => {
    const call = calls.get(c.req.param('id'));
    if (!call) return c.json({ error: 'not_found' }, 404);
    return c.json({ ...call, participants: [], tracks: [], recordingReports: [] });
  });
  app.get('/admin/api/events', (c) => {
    const after = Number(c.req.header('last-event-id') ?? 'NaN');
    let mine: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        mine = controller;
        streams.add(controller);
        controller.enqueue(encoder.encode(': hello\n\n'));
        if (Number.isFinite(after))
          for (const e of log) if (e.id > after) controller.enqueue(frame(e));
      },
      cancel() {
        streams.delete(mine);
      },
    });
    return c.body(body, 200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  });

  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    requests,
    setToken(next) {
      accepted = next;
    },
    transition(callId, event, to, live = true, traceId) {
      const now = Date.now();
      let call = calls.get(callId);
      if (!call) {
        call = {
          callId,
          tenantId: 'fake-tenant',
          kind: 'p2p',
          state: 'idle',
          live: true,
          receivedAt: now,
          updatedAt: now,
          failed: false,
          version: 0,
          history: [],
        };
        calls.set(callId, call);
      }
      const step = { seq: call.history.length + 1, event, from: call.state, to, at: now, traceId };
      call.history.push(step);
      Object.assign(call, { state: to, live, updatedAt: now, version: call.version + 1 });
      const e = {
        id: log.length + 1,
        data: JSON.stringify({ callId, tenantId: call.tenantId, live, ...step }),
      };
      log.push(e);
      for (const s of streams) s.enqueue(frame(e));
    },
    dropStreams() {
      for (const s of streams) s.close();
      streams.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of streams) s.close();
        streams.clear();
        (server as Server).closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
