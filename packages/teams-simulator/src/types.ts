/**
 * The simulator's public contract (re-exported by `index.ts`). Everything here is built from
 * the platform's documented behaviour (docs/teams-protocol.md), not from the orchestrator's code.
 */
import type { Clock } from './clock.js';
import type { SimulatorKeys } from './tokens.js';
import type { SimMediaOptions, SimMediaPeer } from './media-types.js';
import type {
  RecordingStatusUpdate,
  SimParticipant,
  SimParticipantInput,
  SimPolicy,
  SimUserEvent,
  SimUserOutcome,
} from './call-types.js';

export type * from './call-types.js';
export type * from './media-types.js';

/** How a webhook bearer token is (mis)made; every mode but 'valid' must fail verification. */
export type TokenMode =
  | 'valid'
  | 'expired'
  | 'wrongAudience'
  | 'wrongIssuer'
  | 'algNone'
  | 'unknownKid'
  | 'noTid'
  | 'badSignature';

/** Retry policy for webhook deliveries (`SimulatorOptions.deliveryRetry`). */
export interface DeliveryRetry {
  /** Attempts per notification, the first included (1 = no retries); an integer >= 1. */
  attempts: number;
  /**
   * Wait before retry n (the n-th entry; the last one repeats). A retry goes to the next
   * replica of `webhookUrls` when there are several. @default [] (retry at once)
   */
  backoffMs?: number[];
}

/** Minimal logger port (pino fits). */
export interface SimulatorLogger {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
}

export interface SimulatorOptions {
  /** Expected `aud` of webhook tokens and the only `client_id` the token endpoint accepts. */
  botAppId: string;
  /** Checked by the token endpoint (401 invalid_client otherwise). */
  botAppSecret: string;
  /** The bot's global calling webhook; settable later through `Simulator.webhookUrl`. */
  webhookUrl: string;
  /**
   * Ingress replicas behind the global webhook, as a load balancer would see them: every
   * delivery addressed to `webhookUrl` (or to one of these) goes to the next replica in turn.
   * Settable later through `Simulator.webhookUrls`. @default [] (everything to `webhookUrl`)
   */
  webhookUrls?: string[];
  /**
   * Retry failed webhook deliveries (a 5xx, a 429, a refused/reset connection or a timeout) —
   * whether Teams does is undocumented (docs/teams-protocol.md#delivery).
   * @default no retries (one attempt)
   */
  deliveryRetry?: DeliveryRetry;
  /** PEM for the HTTPS server; must be valid for `localhost`. */
  tls: { cert: string; key: string };
  /** Listening port on 127.0.0.1. @default 0 (a free port) */
  port?: number;
  /**
   * Policy-based recording answer deadline (docs/teams-protocol.md#answer-deadline). @default 5000
   */
  answerDeadlineMs?: number;
  /** Delay from the accepted answer to 'establishing', and again to 'established'. @default 30 */
  establishDelayMs?: number;
  /**
   * A live call with no successful keepAlive (or answer) for this long ends 408/8537
   * (docs/teams-protocol.md#other-operations); compress it to test keep-alive starvation.
   * @default 2700000 (45 min)
   */
  keepAliveTimeoutMs?: number;
  /**
   * Lifetime of webhook tokens (docs/teams-protocol.md#inbound-token: 300–3,900 s). @default 3900
   */
  tokenLifetimeSec?: number;
  /** Lifetime of the fake Entra's Graph access tokens (Entra issues about an hour). @default 3599 */
  graphTokenLifetimeSec?: number;
  /**
   * Sign with these keys (`generateSimulatorKeys`) instead of generating two RSA keys: for a test
   * suite that starts many simulators. Rotation (`rotateSigningKey`) still makes a fresh one.
   * @default fresh keys
   */
  keys?: SimulatorKeys | Promise<SimulatorKeys>;
  /**
   * A webhook POST not answered within this counts as failed (docs/teams-protocol.md#delivery).
   * @default 5000
   */
  deliveryTimeoutMs?: number;
  /** Tenant used by `placeCall` when none is given. @default a random GUID per simulator */
  defaultTenantId?: string;
  /** Serve the `/_sim/*` control API on the same server (used by `main.ts`). @default false */
  controlApi?: boolean;
  /**
   * Seed of the success shapes of Graph actions (202 empty, 202 empty JSON, 200 `{}`, 200
   * operation, 204; see graph-replies.ts). @default random, readable as `graphReplySeed`
   */
  graphReplySeed?: number;
  /**
   * How long Graph takes to act on a call action (answer, reject, delete, keepAlive,
   * updateRecordingStatus) before it replies, in ms: a slow Graph keeps the bot's jobs in
   * flight (failover benchmarks kill a worker that holds some). @default 0
   */
  graphLatencyMs?: number;
  /** The platform's media leg to the bot's media endpoint (docs/teams-protocol.md#media). @default off */
  media?: SimMediaOptions;
  /**
   * The simulator's time (clock.ts): every timer, timestamp, delay and timeout of the platform
   * runs on it. A `ManualClock` lets a test move time instead of waiting for it.
   * @default realClock
   */
  clock?: Clock;
  logger?: SimulatorLogger;
}

/** Every request the fake Graph / Entra / OpenID surface received. */
export interface RequestLogEntry {
  at: number;
  method: string;
  path: string;
  route: RequestRoute;
  status: number;
  /** Lower-case names; `authorization` is replaced by 'Bearer <redacted>'. */
  headers: Record<string, string>;
  /** Parsed JSON or form body (a `client_secret` is redacted), raw text otherwise. */
  body: unknown;
  callId?: string;
}

export type DeliveryKind = 'incoming' | 'state' | 'deleted' | 'roster' | 'raw';

/** Every webhook POST the simulator made. */
export interface DeliveryLogEntry {
  at: number;
  /**
   * The notification's place in the order the simulator sent its notifications (1, 2, …; a
   * duplicate copy and the retries of one notification share the first POST's number). Unlike
   * `at`, never equal for two notifications, and unlike the log's order, which is the order the
   * POSTs completed, it is the order the platform meant.
   */
  sent: number;
  url: string;
  callId?: string;
  kind: DeliveryKind;
  /** The call state the notification announces (lower case), when it announces one. */
  state?: string;
  /**
   * 1 for a notification's first POST, 2… for its retries (`deliveryRetry`); the redirect hops
   * of one attempt share its number.
   */
  attempt: number;
  /** HTTP status of the bot's reply; 0 when there was none (timeout, refused). */
  status: number;
  latencyMs: number;
  /** The JSON body that was sent (or the raw string for `deliver({rawBody})`). */
  body: unknown;
  messageId: string;
  /** True for the second copy sent by `duplicateNotifications`. */
  duplicate: boolean;
  /** The bot's reply body (first 2,000 characters). */
  responseBody?: string;
  error?: string;
}

export interface PlaceCallOptions {
  /**
   * Invite shape: a P2P call or a meeting (docs/teams-protocol.md#payloads).
   * @default 'p2p'
   */
  kind?: 'p2p' | 'meeting';
  tenantId?: string;
  /** The recorded (policy) user's object id. @default a random GUID */
  userId?: string;
  callId?: string;
  /**
   * Send 'established' before 'establishing' (docs/teams-protocol.md#call-states: they may arrive
   * out of order).
   */
  swapEstablishOrder?: boolean;
  /** Deliver every notification of the call twice. */
  duplicateNotifications?: boolean;
  /** 'real' = "Created"/"Updated"/"Deleted", "Terminated", "Default" casing of real payloads. */
  casing?: 'docs' | 'real';
  /** After 'established', hang up remotely after this long (omit = up until `hangUp()`). */
  holdMs?: number;
  /** Token mode for every delivery of this call. @default 'valid' */
  tokenMode?: TokenMode;
  /**
   * Once established, send a roster of the recorded user, the other side (P2P: one user;
   * meeting: two users) and the bot. When false the roster starts empty and only the
   * `SimCall` roster methods fill it. @default true
   */
  initialRoster?: boolean;
  /**
   * 'full': every roster notification lists all participants (the documented form,
   * docs/teams-protocol.md#roster).
   * 'delta': only the changed participants; removals as changeType 'deleted'. @default 'full'
   */
  rosterMode?: 'full' | 'delta';
  /**
   * Stamp `rosterSequenceNumber` on participants. Real participant payloads mostly carry none;
   * false sends them without. @default true
   */
  rosterSequenceNumbers?: boolean;
  /** False makes `updateRecordingStatus` answer 403 8506 (not a CR call,
   * docs/teams-protocol.md#recording-status). @default true */
  complianceRecording?: boolean;
  /**
   * The recording application's flags, deciding `SimCall.userOutcome`
   * (docs/teams-protocol.md#policy-flags).
   */
  policy?: SimPolicy;
  /**
   * Connect to the answer's cr-media/1 endpoint and stream media.
   * @default SimulatorOptions.media.enabled
   */
  media?: boolean;
}

export type SimCallState =
  | 'invited'
  | 'answered'
  | 'rejected'
  | 'establishing'
  | 'established'
  | 'terminating'
  | 'terminated';

export interface ResultInfo {
  code: number;
  subcode: number;
  message: string;
}

export interface SimCall {
  readonly id: string;
  readonly tenantId: string;
  readonly kind: 'p2p' | 'meeting';
  readonly userId: string;
  readonly callChainId: string;
  /** ms epoch when the invite POST was sent (the deadline counts from here). */
  readonly invitedAt: number;
  state: SimCallState;
  /** The first accepted answer (`body` as posted, for tests to inspect freely). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- free-form JSON
  answer?: { at: number; body: any; path: string };
  reject?: { at: number; reason: string };
  /** Every answer POST for this call, accepted or not. */
  answerAttempts: number;
  /** How the bot's leg ended. */
  result?: ResultInfo;
  /**
   * The recorded user's fate under `PlaceCallOptions.policy` (docs/teams-protocol.md#policy-flags):
   * 'recorded' once established; when the bot never joined or its leg ended while the user's call
   * went on, what the flags decide. A remote hang-up changes nothing.
   */
  readonly userOutcome: SimUserOutcome;
  /** Every change of `userOutcome`, in order. */
  readonly userEvents: SimUserEvent[];
  /** Every `updateRecordingStatus` request for this call, accepted or not, in order. */
  readonly recordingStatusUpdates: RecordingStatusUpdate[];
  /** ms epoch of the first accepted `recording` status. */
  readonly recordingConfirmedAt?: number;
  /** ms epochs of accepted keepAlive requests. */
  readonly keepAlives: number[];
  /** The platform's current roster (empty until established). */
  readonly participants: SimParticipant[];
  /** The platform's media leg; present when media is enabled for the call. */
  readonly media?: SimMediaPeer;
  /**
   * Add a participant with a fresh participant id and fresh MSIs; resolves with it after the
   * roster notification was delivered. Rejects unless the call is established.
   */
  addParticipant(p: SimParticipantInput): Promise<SimParticipant>;
  /** Remove a participant by participant id; resolves after the roster notification. */
  removeParticipant(id: string): Promise<void>;
  setMuted(id: string, muted: boolean): Promise<void>;
  setInLobby(id: string, inLobby: boolean): Promise<void>;
  /**
   * Drop the bot's media: the leg ends 410/301005 with 'terminating' then 'deleted'
   * (docs/teams-protocol.md#call-states). Rejects when there is no live leg (before the answer,
   * after the end).
   */
  failMedia(): Promise<void>;
  /**
   * Resolves once the call has reached `state` and the notification announcing it (if any) was
   * delivered; rejects on timeout, or as soon as the call ended without reaching it.
   * @param timeoutMs @default 10000
   */
  waitFor(state: SimCallState, timeoutMs?: number): Promise<void>;
  /**
   * Resolves once `outcome` was reached (it is decided when the platform decides, before any
   * notification); rejects on timeout, or once the call ended without reaching it.
   * @param timeoutMs @default 10000
   */
  waitForOutcome(outcome: Exclude<SimUserOutcome, 'pending'>, timeoutMs?: number): Promise<void>;
  /**
   * Remote hang-up: 'terminating', then 'deleted'/'terminated' with 200/4097 (p2p) or
   * 200/5002 (meeting) unless a code is given. Resolves after the last notification.
   */
  hangUp(opts?: { code?: number; subcode?: number }): Promise<void>;
}

export type GraphRoute =
  'answer' | 'reject' | 'delete' | 'keepAlive' | 'updateRecordingStatus' | 'token';

export type RequestRoute =
  GraphRoute | 'getCall' | 'openIdConfig' | 'jwks' | 'entraMetadata' | 'entraKeys' | 'unknown';

export interface GraphFault {
  route: GraphRoute;
  /** @default 503 */
  status?: number;
  /**
   * Sent verbatim as `Retry-After` (fractional seconds allowed,
   * docs/teams-protocol.md#errors-and-retries).
   */
  retryAfter?: string;
  /** How many matching requests fail. @default 1; Infinity = stays down */
  times?: number;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Graph error code. @default 'TooManyRequests' for 429, else a name for the status */
  code?: string;
  /** Only requests for this call match. */
  callId?: string;
}

export interface DeliverOptions {
  tenantId: string;
  tokenMode?: TokenMode;
  /** @default the current webhookUrl */
  url?: string;
  /** Extra or replacing headers; an empty string removes a header. */
  headers?: Record<string, string>;
  /** Sent instead of `JSON.stringify(body)`. */
  rawBody?: string;
}

export interface Simulator {
  /** https://localhost:PORT */
  readonly baseUrl: string;
  /** `${baseUrl}/v1/.well-known/OpenIdConfiguration` */
  readonly openIdConfigUrl: string;
  /** `${baseUrl}/v1.0` */
  readonly graphBaseUrl: string;
  /** The fake Entra authority host (= baseUrl). */
  readonly authorityHost: string;
  /** 'https://api.botframework.com' */
  readonly issuer: string;
  readonly defaultTenantId: string;
  /** Seed of the Graph success shapes (`SimulatorOptions.graphReplySeed`), to reproduce a run. */
  readonly graphReplySeed: number;
  webhookUrl: string;
  /** The replicas behind `webhookUrl` (see `SimulatorOptions.webhookUrls`); [] = none. */
  webhookUrls: string[];
  /**
   * Deliver an invite and start the answer deadline (from the first POST); resolves after the
   * webhook POST returned, its retries (`deliveryRetry`) included.
   */
  placeCall(opts?: PlaceCallOptions): Promise<SimCall>;
  readonly calls: ReadonlyMap<string, SimCall>;
  readonly requests: RequestLogEntry[];
  readonly deliveries: DeliveryLogEntry[];
  addFault(fault: GraphFault): void;
  clearFaults(): void;
  /** A webhook bearer token. */
  signToken(opts: { tenantId: string; mode?: TokenMode; audience?: string }): Promise<string>;
  /** A raw webhook POST, for negative tests. */
  deliver(body: unknown, opts: DeliverOptions): Promise<{ status: number; body: string }>;
  /** The commsNotifications body `placeCall` would send. */
  inviteBody(opts: PlaceCallOptions & { callId: string }): object;
  /** Publish a new key in the JWKS and sign with it from now on (old keys stay published). */
  rotateSigningKey(): Promise<void>;
  /** Close the server and clear every timer. Memoized. */
  close(): Promise<void>;
}
