/**
 * The ingress as a plain value: `createApp(deps)` builds the Hono app; tests call
 * `app.request()`, `src/roles/ingress/main.ts` serves it. `POST /api/calling` answers 202 only after every
 * notification's effect on its call is committed to Redis (never "respond then
 * process": a crash would lose a notification Teams was told succeeded); a failure to commit
 * answers 503 so Teams may deliver again.
 */
import { httpInstrumentationMiddleware } from '@hono/otel';
import { trace } from '@opentelemetry/api';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import { ATTR } from '../telemetry/index.js';
import { adminRoutes, type AdminApiDeps } from './admin.js';
import { isAdmin } from './admin-guard.js';
import { builtConsoleDir, mountConsole } from './console.js';
import { HttpError } from './http-error.js';
import { CommsNotifications, isLegacyNotification } from './notifications.js';
import { dispatchNotifications, type DispatchDeps } from './dispatch.js';
import type { TeamsTokenVerifier } from './teams-auth.js';

export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean | number | string>;
}

/** Checks shown on `/readyz` only to a caller holding the admin token: they reveal load. */
const PRIVATE_CHECKS = ['activeCalls', 'capacityLeft'];
/** Deepest JSON accepted: Teams' notifications nest about 8 levels. */
export const MAX_JSON_DEPTH = 32;
// application/json and application/<anything>+json, with parameters; not json-patch+xml
const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

export interface AppDeps extends DispatchDeps {
  verifier: TeamsTokenVerifier;
  maxBodyBytes: number;
  /** Bearer token of the `/admin/api` routes; without it they are not mounted. */
  adminToken?: string | undefined;
  /** What the operator API reads (src/http/admin.ts); mounted with `adminToken`. */
  adminApi?: AdminApiDeps | undefined;
  /** Built operator console served at `/admin/` (with the admin routes). @default dist/console */
  consoleDir?: string | undefined;
  readiness: () => Promise<Readiness>;
  logger: Logger;
  now?: () => number;
  /**
   * One SERVER span (and the HTTP metrics) per request; false when telemetry exports nothing,
   * which saves the middleware's cost. @default true
   */
  traced?: boolean;
}

export function createApp(deps: AppDeps): Hono {
  const now = deps.now ?? Date.now;
  const app = new Hono();

  app.onError((error, c) => {
    if (error instanceof HttpError) {
      for (const [k, v] of Object.entries(error.headers)) c.header(k, v);
      // an unread body is left on the socket: say so rather than advertise keep-alive and drop
      if (error.status === 413) c.header('connection', 'close');
      return c.json({ error: { code: error.code, message: error.message } }, error.status);
    }
    // Hono's own middleware (bearer auth) signals with its HTTPException
    if (error instanceof HTTPException) return error.getResponse();
    deps.logger.error({ err: error, path: c.req.path }, 'request failed');
    return c.json(
      { error: { code: 'unavailable', message: 'the notification could not be committed' } },
      503,
    );
  });
  app.notFound((c) => c.json({ error: { code: 'not_found', message: 'no such route' } }, 404));

  // One SERVER span per webhook or admin request, named by route (with instrumentation-http
  // beside @hono/otel every request would get two SERVER spans). No header is captured:
  // `authorization` carries a token.
  if (deps.traced ?? true) {
    const traced = httpInstrumentationMiddleware({
      captureRequestHeaders: [],
      captureResponseHeaders: [],
      // an up-down counter moved twice per request, with attributes: a cost on every
      // notification for a gauge the request-duration histogram's rate already tells
      captureActiveRequests: false,
    });
    app.use('/api/*', traced);
    app.use('/admin/*', traced);
  }

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const state = await deps.readiness();
    const checks = isAdmin(deps.adminToken, c.req.header('authorization'))
      ? state.checks
      : Object.fromEntries(
          Object.entries(state.checks).filter(([k]) => !PRIVATE_CHECKS.includes(k)),
        );
    return c.json({ ready: state.ready, checks }, state.ready ? 200 : 503);
  });

  if (deps.adminToken) {
    // the console's files first: they need no token, the API behind them does
    mountConsole(app, deps.consoleDir ?? builtConsoleDir());
  }
  if (deps.adminToken && deps.adminApi) {
    app.route(
      '/admin/api',
      adminRoutes(deps.runtime, deps.adminToken, now, deps.adminApi, deps.logger),
    );
  }

  app.post('/api/calling', limitBody(deps.maxBodyBytes), async (c) => {
    const receivedAt = now();
    // Authenticate before reading the body: an unauthenticated caller costs no parsing.
    const caller = await deps.verifier.verify(c.req.header('authorization'));
    trace.getActiveSpan()?.setAttribute(ATTR.tenantId, caller.tenantId);
    if (!JSON_TYPE.test(c.req.header('content-type') ?? '')) {
      throw new HttpError(415, 'unsupported_media_type', 'expected application/json');
    }
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      throw new HttpError(400, 'malformed_json', 'body is not JSON');
    }
    if (depthOf(body) > MAX_JSON_DEPTH) {
      throw new HttpError(400, 'too_deep', `JSON nested deeper than ${MAX_JSON_DEPTH}`);
    }
    if (isLegacyNotification(body)) return c.body(null, 204);
    const parsed = CommsNotifications.safeParse(body);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new HttpError(
        400,
        'invalid_notification',
        `not a commsNotifications body: ${first?.path.join('.') || '(root)'}: ${first?.message}`,
      );
    }
    const outcomes = await dispatchNotifications(
      deps,
      caller.tenantId,
      parsed.data.value,
      receivedAt,
      deliveryIdOf(c.req.header('x-microsoft-skype-original-message-id')) ??
        deliveryIdOf(c.req.header('x-microsoft-skype-message-id')),
    );
    deps.logger.debug({ tenantId: caller.tenantId, outcomes }, 'notifications applied');
    const foreign = outcomes.filter((o) => o.result.outcome === 'foreign-tenant');
    if (foreign.length > 0) {
      deps.logger.warn(
        { tenantId: caller.tenantId, callIds: foreign.map((o) => o.callId) },
        'notification for a call of another tenant refused',
      );
      throw new HttpError(403, 'wrong_tenant', 'the call belongs to another tenant');
    }
    return c.body(null, 202);
  });

  return app;
}

/**
 * A delivery's identity: a redelivery keeps `X-Microsoft-Skype-Original-Message-ID` and gets a
 * fresh `X-Microsoft-Skype-Message-ID`, so the original id wins. Blank means none; the value is
 * hashed before it nears Redis, so only its length needs a bound here.
 */
function deliveryIdOf(header: string | undefined): string | undefined {
  const value = header?.trim();
  return value && value.length <= 256 ? value : undefined;
}

/** Nesting depth of parsed JSON, without recursion (a hostile body must not blow the stack). */
export function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    deepest = Math.max(deepest, depth);
    if (depth > MAX_JSON_DEPTH) return depth;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/**
 * Hono's body limit, without its cost for a body that declares its length: Hono asks the
 * request for its body stream first, which makes the Node adapter build a full web Request (a
 * measurable share of a webhook's CPU). A Content-Length without Transfer-Encoding is judged by
 * the header, as Hono itself does (Node's parser reads no more than it declares); anything else
 * goes through Hono's middleware, which counts the streamed bytes.
 */
function limitBody(maxSize: number): MiddlewareHandler {
  const tooLarge = (): never => {
    throw new HttpError(413, 'too_large', `body larger than ${maxSize} bytes`);
  };
  const streamed = bodyLimit({ maxSize, onError: tooLarge });
  return (c, next) => {
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined) {
      return streamed(c, next);
    }
    return Number.parseInt(length, 10) > maxSize ? tooLarge() : next();
  };
}
