/**
 * Webhook deliveries: POST a commsNotifications body with the headers real deliveries carry
 * (reference §2.1), a bearer token from the token service, and a response timeout (§2.3: an
 * acknowledgement slower than 5 s counts as none). Every POST is logged with status and latency.
 *
 * v1 makes exactly one attempt per notification: whether Teams retries a failed POST is
 * undocumented (§5.4, §13), so a retry policy is left for a later option. Redirects (302/307 +
 * Location) are followed for incoming-call notifications only, as §2.3 documents.
 */
import { ATTR, ROOT_CONTEXT, withRequestAttributes } from '../telemetry/index.js';
import { randomUUID } from 'node:crypto';
import type { TokenService } from './tokens.js';
import type { DeliveryKind, DeliveryLogEntry, SimulatorLogger, TokenMode } from './types.js';

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
  headers?: Record<string, string>;
  rawBody?: string;
}

export interface DeliveryResult {
  status: number;
  body: string;
  messageId: string;
}

export interface DelivererDeps {
  tokens: TokenService;
  log: DeliveryLogEntry[];
  timeoutMs: number;
  /** Aborted when the simulator closes, so no POST outlives it. */
  closing: AbortSignal;
  logger?: SimulatorLogger;
}

export class Deliverer {
  constructor(private readonly deps: DelivererDeps) {}

  async send(delivery: Delivery): Promise<DeliveryResult> {
    let url = delivery.url;
    for (let hop = 0; ; hop += 1) {
      const result = await this.post(url, delivery);
      const location = result.location;
      const redirect = result.status === 302 || result.status === 307;
      if (!redirect || !location || delivery.kind !== 'incoming' || hop >= MAX_REDIRECTS) {
        return result;
      }
      url = new URL(location, url).toString();
    }
  }

  private async post(url: string, d: Delivery): Promise<DeliveryResult & { location?: string }> {
    const messageId = randomUUID();
    const token = await this.deps.tokens.webhookToken({ tenantId: d.tenantId, mode: d.tokenMode });
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': 'Microsoft-Skype/3.0,(Calling/1.0)',
      'x-microsoft-skype-message-id': messageId,
      'x-microsoft-skype-original-message-id': d.originalMessageId ?? messageId,
      connection: 'close',
    };
    if (d.callChainId) headers['x-microsoft-skype-chain-id'] = d.callChainId;
    for (const [name, value] of Object.entries(d.headers ?? {})) {
      if (value === '') delete headers[name.toLowerCase()];
      else headers[name.toLowerCase()] = value;
    }
    const entry: DeliveryLogEntry = {
      at: Date.now(),
      url,
      callId: d.callId,
      kind: d.kind,
      state: d.state,
      status: 0,
      latencyMs: 0,
      body: d.rawBody ?? d.body,
      messageId,
      duplicate: d.duplicate ?? false,
    };
    const started = performance.now();
    let location: string | undefined;
    let responseBody = '';
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
            signal: AbortSignal.any([AbortSignal.timeout(this.deps.timeoutMs), this.deps.closing]),
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
    }
    entry.latencyMs = performance.now() - started;
    entry.responseBody = responseBody.slice(0, RESPONSE_BODY_LIMIT);
    this.deps.log.push(entry);
    if (entry.error) {
      this.deps.logger?.warn(
        { url, callId: d.callId, kind: d.kind, state: d.state, error: entry.error },
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
