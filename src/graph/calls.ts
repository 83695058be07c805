/**
 * `GraphCalls`: the port through which workers act on Teams calls. Backed by
 * @microsoft/microsoft-graph-client 3.0.7 with a chain of its own handlers without the retry
 * handler — deadline-bound retries belong to the worker, which knows the deadline (the client's
 * retry sleep ignores AbortSignal) — and undici's `request` as the last link in place of the
 * global `fetch` (./transport.ts: half the CPU per request, the body read within a bound).
 *
 * Responses are read raw: every 2xx is success whatever its body or content type. Graph answers
 * these actions with 200, 202 or 204, with no body, `{}`, an operation object, or an empty body
 * labelled `application/json` (microsoftgraph/msgraph-sdk-javascript#156), and the client's own
 * JSON parsing would turn the last one into a failure.
 */
import {
  AuthenticationHandler,
  Client,
  RedirectHandler,
  ResponseType,
  TelemetryHandler,
  type AuthenticationProvider,
} from '@microsoft/microsoft-graph-client';
import type { RecordingStatus, RejectReason } from '../../machines/call.js';
import { graphErrorFromResponse, toGraphCallError } from './errors.js';
import type { TokenSource } from './tokens.js';
import { UndiciTransport } from './transport.js';

export interface AnswerBody {
  callbackUri: string;
  acceptedModalities: string[];
  mediaConfig: { '@odata.type': '#microsoft.graph.appHostedMediaConfig'; blob: string };
  participantCapacity?: number;
  callOptions?: { isDeltaRosterEnabled?: boolean };
}

export interface GraphCalls {
  answer(tenantId: string, callId: string, body: AnswerBody, signal: AbortSignal): Promise<void>;
  reject(
    tenantId: string,
    callId: string,
    body: { reason: RejectReason; callbackUri?: string },
    signal: AbortSignal,
  ): Promise<void>;
  updateRecordingStatus(
    tenantId: string,
    callId: string,
    body: { status: RecordingStatus; clientContext: string },
    signal: AbortSignal,
  ): Promise<void>;
  keepAlive(tenantId: string, callId: string, signal: AbortSignal): Promise<void>;
  /** DELETE the bot's leg. */
  hangUp(tenantId: string, callId: string, signal: AbortSignal): Promise<void>;
}

export interface GraphCallsOptions {
  /** Graph root including the version, e.g. https://graph.microsoft.com/v1.0 */
  graphBaseUrl: string;
  tokens: TokenSource;
}

export function createGraphCalls(options: GraphCallsOptions): GraphCalls {
  const root = new URL(options.graphBaseUrl);
  const version = root.pathname.replace(/^\/+|\/+$/g, '') || 'v1.0';
  const baseUrl = `${root.protocol}//${root.host}/`;
  const clients = new Map<string, Client>();
  // one connection pool for every tenant: they all talk to the same Graph host
  const transport = new UndiciTransport();
  const clientFor = (tenantId: string): Client => {
    let client = clients.get(tenantId);
    if (!client) {
      const authProvider: AuthenticationProvider = {
        getAccessToken: () => options.tokens.getToken(tenantId),
      };
      client = Client.initWithMiddleware({
        // the client's default chain without its retry handler, sending through undici;
        // the telemetry handler adds the client-request-id Microsoft support asks for
        middleware: [
          new AuthenticationHandler(authProvider),
          new RedirectHandler(),
          new TelemetryHandler(),
          transport,
        ],
        baseUrl,
        defaultVersion: version,
        // the auth handler only adds the token for known Graph hosts or these (https only)
        customHosts: new Set([root.hostname]),
      });
      clients.set(tenantId, client);
    }
    return client;
  };
  const send = async (
    tenantId: string,
    path: string,
    signal: AbortSignal,
    body?: unknown,
  ): Promise<void> => {
    let response: Response;
    try {
      const request = clientFor(tenantId)
        .api(path)
        .responseType(ResponseType.RAW)
        .option('signal', signal);
      response = (await (body === undefined ? request.delete() : request.post(body))) as Response;
    } catch (error) {
      throw toGraphCallError(error);
    }
    if (!response.ok) throw await graphErrorFromResponse(response);
    // the body of a success says nothing the worker needs; read it so the socket is reusable
    await response.arrayBuffer().catch(() => undefined);
  };
  const callPath = (callId: string) => `/communications/calls/${encodeURIComponent(callId)}`;
  return {
    answer: (tenantId, callId, body, signal) =>
      send(tenantId, `${callPath(callId)}/answer`, signal, body),
    reject: (tenantId, callId, body, signal) =>
      send(tenantId, `${callPath(callId)}/reject`, signal, body),
    updateRecordingStatus: (tenantId, callId, body, signal) =>
      send(tenantId, `${callPath(callId)}/updateRecordingStatus`, signal, body),
    // keepAlive has no body; an empty object posts as `{}` which Graph accepts
    keepAlive: (tenantId, callId, signal) =>
      send(tenantId, `${callPath(callId)}/keepAlive`, signal, {}),
    hangUp: (tenantId, callId, signal) => send(tenantId, callPath(callId), signal),
  };
}
