/**
 * The one place that maps a request to a named route of the fake surface
 * (docs/teams-protocol.md#inbound-token, #answer, #recording-status,
 * #other-operations): the request log, fault injection and dispatch all use
 * it, so they cannot disagree.
 */
import type { RequestRoute } from './types.js';

export interface Reply {
  status: number;
  /** Sent as JSON; omit for an empty body. */
  body?: unknown;
  /** Sent as is instead of `body` (an empty body with a JSON content type, say). */
  rawBody?: string;
  /** Content type of `rawBody`. */
  contentType?: string;
  headers?: Record<string, string>;
}

export interface RequestContext {
  req: Request;
  /** Path without query string. */
  path: string;
  text: string;
  classified: Classified;
}

export interface Classified {
  route: RequestRoute;
  callId?: string;
  tenant?: string;
}

const CALL_PATH = /^\/v1\.0\/communications\/calls\/([^/]+)(?:\/([^/]+))?\/?$/;
const ENTRA_PATH =
  /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|oauth2\/v2\.0\/token|discovery\/v2\.0\/keys)$/;

// The SDK posts namespaced action names (`microsoft.graph.answer`,
// microsoftgraph/microsoft-graph-comms-samples#414); Graph matches action names case-insensitively,
// so keys are lower case.
const ACTIONS: Record<string, RequestRoute> = {
  answer: 'answer',
  reject: 'reject',
  keepalive: 'keepAlive',
  updaterecordingstatus: 'updateRecordingStatus',
};

export function classify(method: string, path: string): Classified {
  const lower = path.toLowerCase();
  // The documented URL says OpenIdConfiguration, a third-party note spells it lower case
  // (docs/teams-protocol.md#inbound-token).
  if (method === 'GET' && lower === '/v1/.well-known/openidconfiguration') {
    return { route: 'openIdConfig' };
  }
  if (method === 'GET' && lower === '/v1/keys') return { route: 'jwks' };
  const entra = ENTRA_PATH.exec(path);
  if (entra) {
    const tenant = decodeURIComponent(entra[1] ?? '');
    const what = entra[2] ?? '';
    if (method === 'GET' && what.endsWith('openid-configuration')) {
      return { route: 'entraMetadata', tenant };
    }
    if (method === 'POST' && what.endsWith('token')) return { route: 'token', tenant };
    if (method === 'GET' && what.endsWith('keys')) return { route: 'entraKeys', tenant };
    return { route: 'unknown' };
  }
  const call = CALL_PATH.exec(path);
  if (!call) return { route: 'unknown' };
  const callId = decodeURIComponent(call[1] ?? '');
  const action = call[2]?.toLowerCase().replace(/^microsoft\.graph\./, '');
  if (action === undefined) {
    if (method === 'DELETE') return { route: 'delete', callId };
    if (method === 'GET') return { route: 'getCall', callId };
    return { route: 'unknown', callId };
  }
  const route = method === 'POST' ? ACTIONS[action] : undefined;
  return { route: route ?? 'unknown', callId };
}
