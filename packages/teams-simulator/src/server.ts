/**
 * The simulator's HTTPS surface: one fetch-style handler that classifies each request, applies
 * injected faults, dispatches to the Graph / Entra / OpenID handlers, logs the request and
 * returns Graph's usual response headers. Served by @hono/node-server over node:https.
 */
import { createAdaptorServer } from '@hono/node-server';
import { createServer, type Server } from 'node:https';
import type { SimCallImpl } from './call-state.js';
import type { Clock } from './clock.js';
import { botFrameworkOpenIdConfig, entraMetadata, tokenEndpoint, type EntraDeps } from './entra.js';
import type { FaultTable, ActiveFault } from './faults.js';
import { handleGraph, type GraphDeps } from './graph-api.js';
import type { SuccessShape } from './graph-replies.js';
import { entraError, graphError } from './graph-errors.js';
import { logEntry } from './request-log.js';
import { ATTR, contextFrom, SpanKind, withSpan } from './telemetry.js';
import { classify, type Reply, type RequestContext } from './routes.js';
import type { TokenService } from './tokens.js';
import type { GraphRoute, RequestLogEntry, RequestRoute, SimulatorLogger } from './types.js';

export interface HandlerDeps {
  /** Late-bound: the port is only known once the server listens. */
  baseUrl(): string;
  botAppId: string;
  botAppSecret: string;
  tokens: TokenService;
  faults: FaultTable;
  calls: ReadonlyMap<string, SimCallImpl>;
  requests: RequestLogEntry[];
  closing: AbortSignal;
  /** The simulator's clock: request log times and injected fault delays. */
  clock: Clock;
  /** The shape of the next successful Graph action's reply (seeded). */
  successShape(): SuccessShape;
  /** How long Graph takes to act on a call action before it replies (ms). @default 0 */
  graphLatencyMs?: number;
  /** Extra routes under `/_sim/` (the control API); not logged in `requests`. */
  control?: (req: Request, path: string) => Promise<Reply>;
  logger?: SimulatorLogger;
}

const FAULTABLE: ReadonlySet<RequestRoute> = new Set<GraphRoute>([
  'answer',
  'reject',
  'delete',
  'keepAlive',
  'updateRecordingStatus',
  'token',
]);

export function createHandler(deps: HandlerDeps): (req: Request) => Promise<Response> {
  const handle = handler(deps);
  // One SERVER span per request, continuing the caller's trace (the worker's Graph request).
  return (req) => {
    const url = new URL(req.url);
    const classified = classify(req.method, url.pathname);
    const { route, callId } = classified;
    return withSpan(
      `${req.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        // the caller's traceparent, when it sent one (the worker's Graph request does)
        parent: contextFrom(Object.fromEntries(req.headers)),
        attributes: {
          [ATTR.httpMethod]: req.method,
          [ATTR.httpRoute]: route,
          ...(callId ? { [ATTR.callId]: callId } : {}),
        },
      },
      async (span) => {
        const res = await handle(req, url, classified);
        span.setAttribute(ATTR.httpStatus, res.status);
        return res;
      },
    );
  };
}

function handler(
  deps: HandlerDeps,
): (req: Request, url: URL, classified: RequestContext['classified']) => Promise<Response> {
  return async (req, url, classified) => {
    const at = deps.clock.now();
    const path = url.pathname;
    if (deps.control && path.startsWith('/_sim/'))
      return toResponse(req, await deps.control(req, path));
    const text = await req.text();
    const ctx: RequestContext = { req, path, text, classified };
    let reply: Reply;
    try {
      reply = await dispatch(ctx, deps);
    } catch (err) {
      deps.logger?.warn({ err, path }, 'simulator handler failed');
      reply = graphError(500, 'InternalServerError', `Simulator error: ${(err as Error).message}`);
    }
    // Here rather than in the Graph handler, so the call's ledger also sees requests that an
    // injected fault, a bad token or an invalid body turned away
    // (docs/teams-protocol.md#recording-status).
    if (classified.route === 'updateRecordingStatus' && classified.callId !== undefined) {
      deps.calls.get(classified.callId)?.noteRecordingStatus(text, reply.status);
    }
    deps.requests.push(logEntry(at, req, path + url.search, text, classified, reply.status));
    return toResponse(req, reply);
  };
}

async function dispatch(ctx: RequestContext, deps: HandlerDeps): Promise<Reply> {
  const { route, callId, tenant } = ctx.classified;
  if (route === 'answer' && callId !== undefined) {
    const call = deps.calls.get(callId);
    if (call) call.answerAttempts += 1;
  }
  if (FAULTABLE.has(route)) {
    const fault = deps.faults.take(route as GraphRoute, callId);
    if (fault) return faultReply(ctx, fault, deps.closing, deps.clock);
  }
  const baseUrl = deps.baseUrl();
  switch (route) {
    case 'openIdConfig':
      return botFrameworkOpenIdConfig(baseUrl);
    case 'jwks':
      return { status: 200, body: deps.tokens.jwks() };
    case 'entraMetadata':
      return entraMetadata(baseUrl, tenant ?? '');
    case 'entraKeys':
      return { status: 200, body: deps.tokens.entraJwks() };
    case 'token': {
      const entra: EntraDeps = { ...deps, baseUrl };
      return tokenEndpoint(ctx, entra);
    }
    case 'unknown':
      return graphError(404, 'UnknownError', `No such resource: ${ctx.req.method} ${ctx.path}`);
    default: {
      const graph: GraphDeps = { ...deps, graphBaseUrl: `${baseUrl}/v1.0` };
      if (deps.graphLatencyMs && FAULTABLE.has(route)) {
        await deps.clock.sleep(deps.graphLatencyMs, deps.closing);
      }
      return handleGraph(ctx, graph);
    }
  }
}

async function faultReply(
  ctx: RequestContext,
  fault: ActiveFault,
  closing: AbortSignal,
  clock: Clock,
): Promise<Reply> {
  if (fault.delayMs > 0) await clock.sleep(fault.delayMs, closing);
  const message = `Injected fault: ${fault.status} ${fault.code}.`;
  const reply =
    ctx.classified.route === 'token'
      ? entraError(
          fault.status,
          fault.status === 429 ? 'temporarily_unavailable' : 'server_error',
          message,
        )
      : graphError(
          fault.status,
          fault.code,
          message,
          ctx.req.headers.get('client-request-id') ?? undefined,
        );
  if (fault.retryAfter !== undefined)
    reply.headers = { ...reply.headers, 'retry-after': fault.retryAfter };
  return reply;
}

function toResponse(req: Request, reply: Reply): Response {
  const headers = new Headers(reply.headers);
  // Graph echoes the caller's correlation headers
  // (microsoftgraph/microsoft-graph-comms-samples#157).
  for (const name of ['client-request-id', 'scenario-id']) {
    const value = req.headers.get(name);
    if (value && !headers.has(name)) headers.set(name, value);
  }
  if (reply.rawBody !== undefined) {
    if (reply.contentType) headers.set('content-type', reply.contentType);
    // a 204 may carry no body at all (the Response constructor refuses one)
    const raw = reply.status === 204 ? null : reply.rawBody;
    return new Response(raw, { status: reply.status, headers });
  }
  if (reply.body === undefined) return new Response(null, { status: reply.status, headers });
  headers.set('content-type', 'application/json; charset=utf-8');
  return new Response(JSON.stringify(reply.body), { status: reply.status, headers });
}

export interface Listening {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** Serve `handler` over HTTPS on 127.0.0.1. */
export function listen(
  handler: (req: Request) => Promise<Response>,
  tls: { cert: string; key: string },
  port: number,
  logger?: SimulatorLogger,
): Promise<Listening> {
  const server = createAdaptorServer({
    fetch: handler,
    createServer,
    serverOptions: { cert: tls.cert, key: tls.key },
    // The simulator shares its process with the bot in tests: leave the global Response alone.
    overrideGlobalObjects: false,
  }) as Server;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      server.on('error', (err) => logger?.warn({ err }, 'simulator server error'));
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      let closed: Promise<void> | undefined;
      resolve({
        server,
        port: bound,
        close: () =>
          (closed ??= new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          })),
      });
    });
  });
}
