/**
 * A stand-in for the recording bot, for the simulator's own tests: a plain node:http webhook
 * receiver that verifies every bearer token with jose against the simulator's OpenID
 * configuration (as docs/teams-protocol.md#inbound-token prescribes), records what arrived, and a
 * Graph helper that gets tokens from the fake Entra with msal-node and calls the fake Graph with
 * fetch.
 */
import { ConfidentialClientApplication } from '@azure/msal-node';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

/** The parts of a Graph `call` the tests read (all optional: the simulator is under test). */
export interface CallData {
  '@odata.type'?: string;
  id?: string;
  state?: string;
  direction?: string;
  callbackUri?: string;
  tenantId?: string;
  callChainId?: string;
  myParticipantId?: string;
  source?: { id?: string; endpointType?: string; identity?: { user?: Identity } };
  targets?: { identity?: { applicationInstance?: Identity } }[];
  meetingInfo?: { '@odata.type'?: string; token?: string };
  chatInfo?: { threadId?: string };
  incomingContext?: { sourceParticipantId?: string; observedParticipantId?: string };
  applicationMetadata?: {
    botData?: {
      user?: { participationMethod?: string; policyHolderId?: string };
      otherSideUser?: { id?: string; participantId?: string };
      inviteReasons?: string[];
    };
  };
  resultInfo?: { code?: number; subcode?: number; message?: string };
}
interface Identity {
  id?: string;
  tenantId?: string;
}
/** The parts of a Graph `participant` the tests read (docs/teams-protocol.md#roster). */
export interface ParticipantData {
  '@odata.type'?: string;
  id: string;
  info?: {
    identity?: {
      user?: Identity & { displayName?: string };
      guest?: Identity & { displayName?: string };
      phone?: Identity;
      application?: Identity & { displayName?: string };
      applicationInstance?: Identity;
    };
  };
  mediaStreams?: { mediaType?: string; sourceId?: string; direction?: string }[];
  isMuted?: boolean;
  isInLobby?: boolean;
  rosterSequenceNumber?: number;
  recordingInfo?: { recordingStatus?: string };
}
export interface CommsNotification {
  changeType: string;
  resource?: string;
  resourceUrl: string;
  callbackUri?: string;
  /** A call, except on roster notifications (see `participantsOf`). */
  resourceData: CallData;
}
export interface CommsNotifications {
  '@odata.type'?: string;
  value: CommsNotification[];
}
export interface GraphErrorBody {
  error: { code: string; message: string; innerError?: Record<string, string> };
}

/** The `error` object of a Graph error response. */
export const errorOf = async (res: Response): Promise<GraphErrorBody['error']> =>
  ((await res.json()) as GraphErrorBody).error;

export interface Received {
  at: number;
  path: string;
  headers: IncomingHttpHeaders;
  body: CommsNotifications | undefined;
  verified: { ok: true; payload: JWTPayload } | { ok: false; error: string; code?: string };
  status: number;
}

/** Decide the reply; default 202 for a verified token, 401 otherwise. */
export type Responder = (r: Received) => number | Promise<number>;

export interface BotStub {
  /** http://127.0.0.1:PORT */
  url: string;
  received: Received[];
  respond: Responder | undefined;
  /** Resolve with the first received notification (past or future) matching `pred`. */
  next(pred: (r: Received) => boolean, timeoutMs?: number): Promise<Received>;
  close(): Promise<void>;
}

export const notificationOf = (r: Received): CommsNotification | undefined => r.body?.value?.[0];
export const stateOf = (r: Received): string | undefined =>
  notificationOf(r)?.resourceData?.state?.toLowerCase();
export const callIdOf = (r: Received): string | undefined => notificationOf(r)?.resourceData?.id;
/** Roster notifications of a call: resourceUrl is its participants collection. */
export const isRosterOf =
  (callId: string) =>
  (r: Received): boolean =>
    notificationOf(r)?.resourceUrl === `/communications/calls/${callId}/participants`;
/** The participants array of a roster notification. */
export const participantsOf = (r: Received): ParticipantData[] => {
  const data: unknown = notificationOf(r)?.resourceData;
  if (!Array.isArray(data)) throw new Error('not a roster notification: resourceData is no array');
  return data as ParticipantData[];
};

export async function verifier(openIdConfigUrl: string, appId: string) {
  const cfg = (await (await fetch(openIdConfigUrl)).json()) as { issuer: string; jwks_uri: string };
  const jwks = createRemoteJWKSet(new URL(cfg.jwks_uri));
  return async (authorization: string | undefined): Promise<Received['verified']> => {
    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    if (!token) return { ok: false, error: 'no bearer token' };
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: cfg.issuer,
        audience: appId,
        algorithms: ['RS256'],
        clockTolerance: '5 minutes',
        requiredClaims: ['tid', 'exp', 'nbf'],
      });
      return { ok: true, payload };
    } catch (err) {
      const e = err as Error & { code?: string };
      return { ok: false, error: e.message, code: e.code };
    }
  };
}

export async function startBotStub(openIdConfigUrl: string, appId: string): Promise<BotStub> {
  const verify = await verifier(openIdConfigUrl, appId);
  const waiters: { pred: (r: Received) => boolean; resolve: (r: Received) => void }[] = [];
  const stub: BotStub = {
    url: '',
    received: [],
    respond: undefined,
    next(pred, timeoutMs = 10_000) {
      const hit = stub.received.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`bot stub: no matching notification within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({ pred, resolve: (r) => (clearTimeout(timer), resolve(r)) });
      });
    },
    close: () =>
      new Promise((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
  const handle = async (path: string, headers: IncomingHttpHeaders, text: string) => {
    const r: Received = {
      at: Date.now(),
      path,
      headers,
      body: text ? (JSON.parse(text) as CommsNotifications) : undefined,
      verified: await verify(headers.authorization),
      status: 0,
    };
    r.status = (await stub.respond?.(r)) ?? (r.verified.ok ? 202 : 401);
    stub.received.push(r);
    for (const w of waiters.filter((x) => x.pred(r))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(r);
    }
    return r.status;
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req.url ?? '/', req.headers, Buffer.concat(chunks).toString('utf8')).then(
        (status) => res.writeHead(status).end(),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    });
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  stub.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return stub;
}

export interface GraphSide {
  token(tenantId: string): Promise<string>;
  post(path: string, body: unknown, tenantId: string, token?: string): Promise<Response>;
  request(method: string, path: string, tenantId: string, body?: unknown): Promise<Response>;
}

/** msal-node against the fake Entra, configured as the orchestrator will configure it. */
export function graphSide(
  sim: { authorityHost: string; graphBaseUrl: string },
  clientId: string,
  clientSecret: string,
): GraphSide {
  const clients = new Map<string, ConfidentialClientApplication>();
  const token = async (tenantId: string): Promise<string> => {
    let cca = clients.get(tenantId);
    if (!cca) {
      cca = new ConfidentialClientApplication({
        auth: {
          clientId,
          clientSecret,
          authority: `${sim.authorityHost}/${tenantId}`,
          knownAuthorities: [new URL(sim.authorityHost).host],
        },
      });
      clients.set(tenantId, cca);
    }
    const result = await cca.acquireTokenByClientCredential({
      scopes: ['https://graph.microsoft.com/.default'],
    });
    if (!result?.accessToken) throw new Error('msal returned no token');
    return result.accessToken;
  };
  const request = async (
    method: string,
    path: string,
    tenantId: string,
    body?: unknown,
    tok?: string,
  ) =>
    fetch(`${sim.graphBaseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${tok ?? (await token(tenantId))}`,
        'content-type': 'application/json',
        'client-request-id': crypto.randomUUID(),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return {
    token,
    post: (path, body, tenantId, tok) => request('POST', path, tenantId, body, tok),
    request: (method, path, tenantId, body) => request(method, path, tenantId, body),
  };
}

export const answerBody = (callbackUri?: string) => ({
  ...(callbackUri && { callbackUri }),
  acceptedModalities: ['audio'],
  mediaConfig: {
    '@odata.type': '#microsoft.graph.appHostedMediaConfig',
    blob: JSON.stringify({ mpUri: 'net.tcp://127.0.0.1:20100/MediaProcessor' }),
  },
});
