/**
 * `GraphCalls`: the port through which workers act on Teams calls. Backed by
 * @microsoft/microsoft-graph-client 3.0.7 with its own retries switched off — deadline-bound
 * retries belong to the worker, which knows the deadline (the client's RetryHandler sleeps with a
 * plain timer that ignores the AbortSignal).
 */
import {
  Client,
  RetryHandlerOptions,
  type AuthenticationProvider,
} from '@microsoft/microsoft-graph-client';
import type { RecordingStatus, RejectReason } from '../../machines/call.js';
import { toGraphCallError } from './errors.js';
import type { TokenSource } from './tokens.js';

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
  const clientFor = (tenantId: string): Client => {
    let client = clients.get(tenantId);
    if (!client) {
      const authProvider: AuthenticationProvider = {
        getAccessToken: () => options.tokens.getToken(tenantId),
      };
      client = Client.initWithMiddleware({
        authProvider,
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
    try {
      const request = clientFor(tenantId)
        .api(path)
        .middlewareOptions([new RetryHandlerOptions(0, 0)])
        .option('signal', signal);
      await (body === undefined ? request.delete() : request.post(body));
    } catch (error) {
      throw toGraphCallError(error);
    }
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
