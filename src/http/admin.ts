/**
 * The operator API under `/admin/api` (docs/operator-api.md), behind a bearer token
 * (`ADMIN_TOKEN`; absent = no routes) and a per-client rate limit: the list of live and recent
 * calls with filters and a cursor, one call in detail with its history, the machine definition,
 * the live feed of transitions (./admin-events.ts), the console's configuration, the OpenAPI
 * description, and ending a call from the bot's side. `/admin/` and `/admin/assets/*` stay free
 * for the console's static files. Errors answer `{ error, message }`.
 */
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import { CALL_MACHINE_VERSION, callMachine } from '../../machines/call.js';
import type { CallFilter, CallPage } from '../admin/call-list.js';
import { CursorError, LIST_LIMIT_MAX } from '../admin/call-list.js';
import type { CallReader } from '../admin/call-view.js';
import { ADMIN_OPENAPI } from '../admin/openapi.js';
import type { TransitionStreams } from '../admin/transition-streams.js';
import { CALL_ID_PATTERN } from '../redis/keys.js';
import type { CallRuntime } from '../calls/runtime.js';
import { HttpError } from './http-error.js';
import { rateLimit, requireAdmin } from './admin-guard.js';
import { eventsRoute } from './admin-events.js';

/** What the operator API reads; built by the ingress's composition root. */
export interface AdminApiDeps {
  reader: CallReader;
  list(
    filter: CallFilter,
    options: { cursor?: string | undefined; limit?: number | undefined },
  ): Promise<CallPage>;
  /** The live feed; `GET /events` answers 503 without it. */
  streams?: TransitionStreams | undefined;
  /** Open event streams per process. @default 32 */
  maxStreams?: number;
  /** @default 300 */
  rateLimitPerMinute?: number;
  jaegerUiUrl?: string | undefined;
}

const TEXT = /^[\w.@:-]{1,256}$/;
const STATE = /^[A-Za-z.]{1,128}$/;
const MS = /^\d{1,15}$/;

function filterOf(q: (name: string) => string | undefined): {
  filter: CallFilter;
  cursor?: string;
  limit?: number;
} {
  const bad = (name: string, why: string): never => {
    throw new HttpError(400, 'invalid_query', `${name}: ${why}`);
  };
  const filter: CallFilter = {};
  const state = q('state');
  if (state !== undefined) filter.state = STATE.test(state) ? state : bad('state', 'not a state');
  for (const name of ['tenant', 'user'] as const) {
    const v = q(name);
    if (v !== undefined) filter[name] = TEXT.test(v) ? v : bad(name, 'not an id');
  }
  const failed = q('failed');
  if (failed !== undefined) {
    filter.failed =
      failed === 'true' ? true : failed === 'false' ? false : bad('failed', 'true or false');
  }
  for (const name of ['from', 'to'] as const) {
    const v = q(name);
    if (v !== undefined) filter[name] = MS.test(v) ? Number(v) : bad(name, 'epoch milliseconds');
  }
  if (filter.from !== undefined && filter.to !== undefined && filter.from > filter.to) {
    bad('from', 'after to');
  }
  const limitRaw = q('limit');
  let limit: number | undefined;
  if (limitRaw !== undefined) {
    limit = /^\d{1,3}$/.test(limitRaw) ? Number(limitRaw) : bad('limit', 'a whole number');
    if (limit < 1 || limit > LIST_LIMIT_MAX) bad('limit', `1 to ${LIST_LIMIT_MAX}`);
  }
  const cursor = q('cursor');
  return {
    filter,
    ...(cursor !== undefined ? { cursor } : {}),
    ...(limit !== undefined ? { limit } : {}),
  };
}

export function adminRoutes(
  runtime: CallRuntime,
  token: string,
  now: () => number,
  api: AdminApiDeps,
  logger?: Logger,
): Hono {
  const admin = new Hono();
  admin.onError((error, c) => {
    if (error instanceof HttpError) {
      for (const [k, v] of Object.entries(error.headers)) c.header(k, v);
      return c.json({ error: error.code, message: error.message }, error.status);
    }
    if (error instanceof HTTPException) return error.getResponse();
    logger?.error({ err: error, path: c.req.path }, 'admin request failed');
    return c.json({ error: 'unavailable', message: 'the request could not be served' }, 503);
  });
  admin.use('*', rateLimit({ perMinute: api.rateLimitPerMinute ?? 300, now }));
  admin.use('*', requireAdmin(token));
  const callIdOf = (raw: string): string => {
    if (!CALL_ID_PATTERN.test(raw)) throw new HttpError(400, 'invalid_call_id', 'not a call id');
    return raw;
  };

  admin.get('/calls', async (c) => {
    const { filter, cursor, limit } = filterOf((name) => c.req.query(name));
    try {
      return c.json(await api.list(filter, { cursor, limit }));
    } catch (error) {
      if (error instanceof CursorError) throw new HttpError(400, 'invalid_cursor', error.message);
      throw error;
    }
  });

  admin.get('/calls/:id', async (c) => {
    const callId = callIdOf(c.req.param('id'));
    const detail = await api.reader.detail(callId);
    if (!detail) throw new HttpError(404, 'not_found', `no call ${callId}`);
    return c.json(detail);
  });

  admin.post('/calls/:id/hangup', async (c) => {
    const callId = callIdOf(c.req.param('id'));
    const result = await runtime.applyEvent(callId, {
      type: 'CALL.HANGUP',
      at: now(),
      reason: 'operator',
    });
    if (result.outcome !== 'committed') {
      throw new HttpError(409, 'not_live', `call ${callId} is not live (${result.outcome})`);
    }
    return c.json({ callId, state: result.to }, 202);
  });

  admin.get('/machine', (c) =>
    c.json({
      id: callMachine.id,
      version: CALL_MACHINE_VERSION,
      definition: callMachine.definition,
    }),
  );

  admin.get('/config', (c) =>
    c.json({
      ...(api.jaegerUiUrl ? { jaegerUiUrl: api.jaegerUiUrl } : {}),
      machineVersion: CALL_MACHINE_VERSION,
    }),
  );

  admin.get('/openapi.json', (c) => c.json(ADMIN_OPENAPI));

  admin.get('/events', eventsRoute(api.streams, api.maxStreams ?? 32, logger));

  return admin;
}
