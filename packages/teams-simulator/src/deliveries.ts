/**
 * Webhook deliveries: POST a commsNotifications body with the headers real deliveries carry
 * (docs/teams-protocol.md#delivery), a bearer token from the token service, and a response timeout
 * (an acknowledgement slower than 5 s counts as none). Every POST is logged with status and
 * latency.
 *
 * By default a notification gets exactly one attempt: whether Teams retries a failed POST is
 * undocumented (docs/teams-protocol.md#delivery, #unknowns). `deliveryRetry` opts into a retry
 * policy (a simulator should let a test choose between giving up and retrying): a 5xx, a 429 or a
 * transport failure (refused, reset, timeout) is tried again after the backoff, to the next replica
 * when there are several; any other status is final. Retries happen inside `send`, so a call's
 * queue (notify-queue.ts) holds its later notifications back until the earlier one is done, retries
 * included.
 *
 * `webhookUrls` puts the simulator in the place of a load balancer: a delivery addressed to the
 * global webhook (or to one of the replicas) goes to the replicas round-robin. Any other URL (a
 * call pinned to a callbackUri elsewhere, a redirect's Location) is used as given. Redirects
 * (302/307 + Location) are followed for incoming-call notifications only, as
 * docs/teams-protocol.md#delivery documents; the hops of one attempt share its attempt number.
 */
import { ATTR, ROOT_CONTEXT, withRequestAttributes } from './telemetry.js';
import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';
import type { TokenService } from './tokens.js';
import type {
  DeliveryKind,
  DeliveryLogEntry,
  DeliveryRetry,
  SimulatorLogger,
  TokenMode,
} from './types.js';

const MAX_REDIRECTS = 3;
const RESPONSE_BODY_LIMIT = 2000;

export interface Delivery {
  url: string;
  body: unknown;
  tenantId: string;
  tokenMode: TokenMode;
  kind: DeliveryKind;
  callId?: string;
  callChainId?: string;
  state?: string;
  duplicate?: boolean;
  /** Message id of the first copy, sent as X-Microsoft-Skype-Original-Message-ID. */
  originalMessageId?: string;
  /** The first copy's `sent` number, for its duplicate. */
  sent?: number;
  headers?: Record<string, string>;
  rawBody?: string;
}

export interface DeliveryResult {
  status: number;
  body: string;
  /** The notification's `sent` number in the delivery log. */
  sent: number;
  /** The message id of the first attempt (retries carry it as the original message id). */
  messageId: string;
}

/** Where deliveries go: the global webhook and the replicas behind it. */
export interface DeliveryRoutes {
  webhookUrl: string;
  /** Empty: every delivery goes to its own URL. */
  replicas: readonly string[];
}

export interface DelivererDeps {
  tokens: TokenService;
  log: DeliveryLogEntry[];
  timeoutMs: number;
  /** The simulator's clock: response timeouts and retry delays run on it. */
  clock: Clock;
  /** Read at every send, because both URLs are settable while calls run. */
  routes(): DeliveryRoutes;
  /** `attempts` counts the first POST too; 1 = no retries. */
  retry: Required<DeliveryRetry>;
  /** Aborted when the simulator closes, so no POST outlives it. */
  closing: AbortSignal;
  logger?: SimulatorLogger;
}

interface Attempt {
  number: number;
  originalMessageId: string | undefined;
  sent: number;
}

/** A status a load balancer (or Teams, if it retries) would try again: 5xx, 429, no answer. */
const retriable = (status: number): boolean => status === 0 || status === 429 || status >= 500;

export class Deliverer {
  private nextReplica = 0;
  private lastSent = 0;

  constructor(private readonly deps: DelivererDeps) {}

  async send(delivery: Delivery): Promise<DeliveryResult> {
    const { attempts, backoffMs } = this.deps.retry;
    const { replicas, webhookUrl } = this.deps.routes();
    // one list per notification, so a retry's "next replica" is well defined even if the
    // replicas are swapped meanwhile
    const pool =
      replicas.length > 0 && (delivery.url === webhookUrl || replicas.includes(delivery.url))
        ? [...replicas]
        : undefined;
    let replica = pool ? this.nextReplica++ % pool.length : 0;
    const attempt: Attempt = {
      number: 1,
      originalMessageId: delivery.originalMessageId,
      sent: delivery.sent ?? ++this.lastSent,
    };
    for (;;) {
      const url = pool ? pool[replica]! : delivery.url;
      const result = await this.follow(url, delivery, attempt);
      const firstId = attempt.originalMessageId ?? result.messageId;
      const done = attempt.number >= attempts || !retriable(result.status);
      if (done || !(await this.backoff(backoffMs, attempt.number))) {
        return { ...result, messageId: firstId, sent: attempt.sent };
      }
      this.deps.logger?.info(
        { url, callId: delivery.callId, kind: delivery.kind, attempt: attempt.number + 1 },
        'retrying webhook delivery',
      );
      attempt.number += 1;
      attempt.originalMessageId = firstId;
      if (pool) replica = (replica + 1) % pool.length;
    }
  }

  /** Wait before the retry after attempt `n`; false when the simulator closed meanwhile. */
  private async backoff(table: readonly number[], n: number): Promise<boolean> {
    if (this.deps.closing.aborted) return false;
    const ms = table.length === 0 ? 0 : table[Math.min(n, table.length) - 1]!;
    try {
      await this.deps.clock.sleep(ms, this.deps.closing);
      return true;
    } catch {
      return false;
    }
  }

  /** One attempt: the POST and, for an invite, the redirects it is answered with. */
  private async follow(
    first: string,
    delivery: Delivery,
    attempt: Attempt,
  ): Promise<Omit<DeliveryResult, 'sent'>> {
    let url = first;
    for (let hop = 0; ; hop += 1) {
      const result = await this.post(url, delivery, attempt);
      const location = result.location;
      const redirect = result.status === 302 || result.status === 307;
      if (!redirect || !location || delivery.kind !== 'incoming' || hop >= MAX_REDIRECTS) {
        return result;
      }
      url = new URL(location, url).toString();
    }
  }

  private async post(
    url: string,
    d: Delivery,
    attempt: Attempt,
  ): Promise<Omit<DeliveryResult, 'sent'> & { location?: string }> {
    const messageId = randomUUID();
    const token = await this.deps.tokens.webhookToken({ tenantId: d.tenantId, mode: d.tokenMode });
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': 'Microsoft-Skype/3.0,(Calling/1.0)',
      'x-microsoft-skype-message-id': messageId,
      'x-microsoft-skype-original-message-id': attempt.originalMessageId ?? messageId,
      connection: 'close',
    };
    if (d.callChainId) headers['x-microsoft-skype-chain-id'] = d.callChainId;
    for (const [name, value] of Object.entries(d.headers ?? {})) {
      if (value === '') delete headers[name.toLowerCase()];
      else headers[name.toLowerCase()] = value;
    }
    const entry: DeliveryLogEntry = {
      at: this.deps.clock.now(),
      sent: attempt.sent,
      url,
      callId: d.callId,
      kind: d.kind,
      state: d.state,
      attempt: attempt.number,
      status: 0,
      latencyMs: 0,
      body: d.rawBody ?? d.body,
      messageId,
      duplicate: d.duplicate ?? false,
    };
    const started = this.deps.clock.monotonic();
    let location: string | undefined;
    let responseBody = '';
    // Not AbortSignal.timeout: inside AbortSignal.any it can be garbage-collected before it
    // fires on Node 20 (nodejs/node#57736), and a slow bot then holds the POST indefinitely.
    // The timer's closure keeps this controller alive until it fires or is cleared.
    const timeout = new AbortController();
    const timer = this.deps.clock.setTimeout(
      () => timeout.abort(new DOMException('webhook response timeout', 'TimeoutError')),
      this.deps.timeoutMs,
    );
    try {
      // the delivery's HTTP client span (when traced) names the call; its traceparent header
      // lets the ingress continue the trace, as a traced platform would
      const res = await withRequestAttributes(
        {
          [ATTR.callId]: d.callId,
          [ATTR.simNotification]: `${d.kind}${d.state ? `:${d.state}` : ''}`,
        },
        () =>
          fetch(url, {
            method: 'POST',
            headers,
            body: d.rawBody ?? JSON.stringify(d.body),
            redirect: 'manual',
            signal: AbortSignal.any([timeout.signal, this.deps.closing]),
          }),
        // a notification is the platform's own act, not part of whatever request led to it
        ROOT_CONTEXT,
      );
      responseBody = await res.text();
      entry.status = res.status;
      location = res.headers.get('location') ?? undefined;
      if (res.status < 200 || res.status >= 300) entry.error = `HTTP ${res.status}`;
    } catch (err) {
      entry.error = describe(err, this.deps.timeoutMs);
    } finally {
      this.deps.clock.clearTimeout(timer);
    }
    entry.latencyMs = this.deps.clock.monotonic() - started;
    entry.responseBody = responseBody.slice(0, RESPONSE_BODY_LIMIT);
    this.deps.log.push(entry);
    if (entry.error) {
      this.deps.logger?.warn(
        {
          url,
          callId: d.callId,
          kind: d.kind,
          state: d.state,
          attempt: attempt.number,
          error: entry.error,
        },
        'webhook delivery failed',
      );
    }
    return { status: entry.status, body: responseBody, messageId, location };
  }
}

function describe(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return `no response within ${timeoutMs} ms`;
  if (e.name === 'AbortError') return 'aborted: simulator closing';
  const cause = e.cause?.code ?? e.cause?.message;
  return cause ? `${e.message} (${cause})` : e.message;
}
