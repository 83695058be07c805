/**
 * Composition of the simulator: token service, HTTPS surface, deliveries, calls and faults.
 * Options are compiled once into `…Ms` numbers; `close()` is memoized and ordered: stop intake,
 * abort in-flight deliveries and delays, stop every call's timers.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { SimCallImpl } from './call-state.js';
import { realClock, type Clock } from './clock.js';
import { seededShapes } from './graph-replies.js';
import { handleControl } from './control-api.js';
import { Deliverer } from './deliveries.js';
import { FaultTable } from './faults.js';
import type { MediaPeerSettings } from './media-peer.js';
import { buildInvite } from './payloads.js';
import { createHandler, listen, type Listening } from './server.js';
import { BOT_FRAMEWORK_ISSUER, TokenService } from './tokens.js';
import type {
  DeliverOptions,
  DeliveryLogEntry,
  DeliveryRetry,
  GraphFault,
  PlaceCallOptions,
  RequestLogEntry,
  SimCall,
  SimMediaOptions,
  Simulator,
  SimulatorOptions,
  TokenMode,
} from './types.js';

interface Compiled {
  answerDeadlineMs: number;
  establishDelayMs: number;
  keepAliveTimeoutMs: number;
  tokenLifetimeSec: number;
  deliveryTimeoutMs: number;
  deliveryRetry: Required<DeliveryRetry>;
  /** `enabled` is the default of `PlaceCallOptions.media`. */
  media: MediaPeerSettings & { enabled: boolean };
  clock: Clock;
}

function compile(opts: SimulatorOptions): Compiled {
  const clock = opts.clock ?? realClock;
  if (!opts.botAppId || !opts.botAppSecret)
    throw new Error('botAppId and botAppSecret are required');
  const c: Omit<Compiled, 'media' | 'deliveryRetry' | 'clock'> = {
    answerDeadlineMs: opts.answerDeadlineMs ?? 5000,
    establishDelayMs: opts.establishDelayMs ?? 30,
    keepAliveTimeoutMs: opts.keepAliveTimeoutMs ?? 45 * 60_000,
    tokenLifetimeSec: opts.tokenLifetimeSec ?? 3900,
    deliveryTimeoutMs: opts.deliveryTimeoutMs ?? 5000,
  };
  for (const [name, value] of Object.entries(c)) {
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number >= 0`);
  }
  return {
    ...c,
    deliveryRetry: compileRetry(opts.deliveryRetry ?? { attempts: 1 }),
    media: compileMedia(opts.media ?? {}),
    clock,
  };
}

function compileRetry(r: DeliveryRetry): Required<DeliveryRetry> {
  const retry = { attempts: r.attempts, backoffMs: [...(r.backoffMs ?? [])] };
  if (!Number.isInteger(retry.attempts) || retry.attempts < 1) {
    throw new Error('deliveryRetry.attempts must be an integer >= 1');
  }
  if (retry.backoffMs.some((ms) => !Number.isFinite(ms) || ms < 0)) {
    throw new Error('deliveryRetry.backoffMs must hold numbers >= 0');
  }
  return retry;
}

function compileMedia(m: SimMediaOptions): Compiled['media'] {
  const media = {
    enabled: m.enabled === true,
    paceMs: m.paceMs ?? 20,
    video: m.video === true,
    connectTimeoutMs: m.connectTimeoutMs ?? 5000,
  };
  if (!Number.isFinite(media.paceMs) || media.paceMs <= 0)
    throw new Error('media.paceMs must be > 0');
  if (!Number.isFinite(media.connectTimeoutMs) || media.connectTimeoutMs <= 0) {
    throw new Error('media.connectTimeoutMs must be > 0');
  }
  return media;
}

/** Pull ids out of a commsNotifications body so raw deliveries are logged and headed well. */
function idsOf(body: unknown): { callId?: string; callChainId?: string } {
  const data = (body as { value?: { resourceData?: { id?: unknown; callChainId?: unknown } }[] })
    ?.value?.[0]?.resourceData;
  return {
    callId: typeof data?.id === 'string' ? data.id : undefined,
    callChainId: typeof data?.callChainId === 'string' ? data.callChainId : undefined,
  };
}

class SimulatorImpl implements Simulator {
  readonly issuer = BOT_FRAMEWORK_ISSUER;
  readonly defaultTenantId: string;
  readonly graphReplySeed: number;
  webhookUrl: string;
  webhookUrls: string[];
  readonly calls = new Map<string, SimCallImpl>();
  readonly requests: RequestLogEntry[] = [];
  readonly deliveries: DeliveryLogEntry[] = [];
  private readonly faults = new FaultTable();
  /**
   * Aborts every wait (Graph latency, injected delays, delivery retries) when the simulator
   * closes. A load test has hundreds of them pending at once, each with its own listener, all
   * removed when the wait ends: no cap (set below), or Node warns of a leak that is not there.
   */
  private readonly closing = new AbortController();
  // One recording application instance per simulator: the target of every invite.
  private readonly appInstanceId = randomUUID();
  private readonly deliverer: Deliverer;
  private base = '';
  private listening: Listening | undefined;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly opts: SimulatorOptions,
    private readonly cfg: Compiled,
    private readonly tokens: TokenService,
  ) {
    setMaxListeners(0, this.closing.signal);
    this.defaultTenantId = opts.defaultTenantId ?? randomUUID();
    this.graphReplySeed = opts.graphReplySeed ?? randomInt(2 ** 31);
    this.webhookUrl = opts.webhookUrl;
    this.webhookUrls = [...(opts.webhookUrls ?? [])];
    this.deliverer = new Deliverer({
      tokens,
      log: this.deliveries,
      timeoutMs: cfg.deliveryTimeoutMs,
      clock: cfg.clock,
      routes: () => ({ webhookUrl: this.webhookUrl, replicas: this.webhookUrls }),
      retry: cfg.deliveryRetry,
      closing: this.closing.signal,
      logger: opts.logger,
    });
  }

  get baseUrl(): string {
    return this.base;
  }
  get openIdConfigUrl(): string {
    return `${this.base}/v1/.well-known/OpenIdConfiguration`;
  }
  get graphBaseUrl(): string {
    return `${this.base}/v1.0`;
  }
  get authorityHost(): string {
    return this.base;
  }

  async listen(): Promise<void> {
    const handler = createHandler({
      baseUrl: () => this.base,
      botAppId: this.opts.botAppId,
      botAppSecret: this.opts.botAppSecret,
      tokens: this.tokens,
      faults: this.faults,
      calls: this.calls,
      requests: this.requests,
      closing: this.closing.signal,
      clock: this.cfg.clock,
      successShape: seededShapes(this.graphReplySeed),
      ...(this.opts.graphLatencyMs ? { graphLatencyMs: this.opts.graphLatencyMs } : {}),
      control: this.opts.controlApi ? (req, path) => handleControl(req, path, this) : undefined,
      logger: this.opts.logger,
    });
    this.listening = await listen(handler, this.opts.tls, this.opts.port ?? 0, this.opts.logger);
    // 'localhost', not 127.0.0.1: the dev certificate and msal's https authority want a name.
    this.base = `https://localhost:${this.listening.port}`;
  }

  async placeCall(o: PlaceCallOptions = {}): Promise<SimCall> {
    if (this.closed) throw new Error('simulator is closed');
    const id = o.callId ?? randomUUID();
    if (this.calls.has(id)) throw new Error(`call ${id} already exists`);
    const kind = o.kind ?? 'p2p';
    const tenantId = o.tenantId ?? this.defaultTenantId;
    const userId = o.userId ?? randomUUID();
    const invite = buildInvite({
      callId: id,
      kind,
      tenantId,
      userId,
      webhookUrl: this.webhookUrl,
      appInstanceId: this.appInstanceId,
      casing: o.casing ?? 'docs',
    });
    const call = new SimCallImpl(
      { id, tenantId, kind, userId, invite, options: o },
      {
        deliverer: this.deliverer,
        clock: this.cfg.clock,
        answerDeadlineMs: this.cfg.answerDeadlineMs,
        establishDelayMs: this.cfg.establishDelayMs,
        keepAliveTimeoutMs: this.cfg.keepAliveTimeoutMs,
        media: (o.media ?? this.cfg.media.enabled) ? this.cfg.media : undefined,
        webhookUrl: () => this.webhookUrl,
        logger: this.opts.logger,
      },
    );
    this.calls.set(id, call);
    this.opts.logger?.info({ callId: id, kind, tenantId }, 'placing call');
    await call.start(invite.body);
    return call;
  }

  addFault(fault: GraphFault): void {
    this.faults.add(fault);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  signToken(o: { tenantId: string; mode?: TokenMode; audience?: string }): Promise<string> {
    return this.tokens.webhookToken(o);
  }

  async deliver(body: unknown, o: DeliverOptions): Promise<{ status: number; body: string }> {
    const { status, body: text } = await this.deliverer.send({
      url: o.url ?? this.webhookUrl,
      body,
      tenantId: o.tenantId,
      tokenMode: o.tokenMode ?? 'valid',
      kind: 'raw',
      headers: o.headers,
      rawBody: o.rawBody,
      ...idsOf(body),
    });
    return { status, body: text };
  }

  inviteBody(o: PlaceCallOptions & { callId: string }): object {
    return buildInvite({
      callId: o.callId,
      kind: o.kind ?? 'p2p',
      tenantId: o.tenantId ?? this.defaultTenantId,
      userId: o.userId ?? randomUUID(),
      webhookUrl: this.webhookUrl,
      appInstanceId: this.appInstanceId,
      casing: o.casing ?? 'docs',
    }).body;
  }

  rotateSigningKey(): Promise<void> {
    return this.tokens.rotate();
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      const stopped = this.listening?.close();
      this.closing.abort();
      for (const call of this.calls.values()) call.close();
      await stopped;
    })();
    return this.closed;
  }
}

/** Start a simulator listening on 127.0.0.1 (see `SimulatorOptions`). */
export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  const cfg = compile(opts);
  const tokens = await TokenService.create(
    opts.botAppId,
    cfg.tokenLifetimeSec,
    cfg.clock,
    await opts.keys,
  );
  if (opts.graphTokenLifetimeSec !== undefined) {
    if (!Number.isInteger(opts.graphTokenLifetimeSec) || opts.graphTokenLifetimeSec < 1)
      throw new Error('graphTokenLifetimeSec must be a whole number of seconds >= 1');
    tokens.graphLifetimeSec = opts.graphTokenLifetimeSec;
  }
  const sim = new SimulatorImpl(opts, cfg, tokens);
  await sim.listen();
  return sim;
}
