/**
 * The lifecycle of one simulated call leg of the bot, from the platform's side: the answer
 * deadline (docs/teams-protocol.md#answer-deadline), establishing/established after an accepted
 * answer (docs/teams-protocol.md#call-states, optionally swapped), keep-alive starvation
 * (docs/teams-protocol.md#other-operations, #call-states) and every way the leg ends
 * (docs/teams-protocol.md#call-states end codes). `SimCallImpl` (call-state.ts) adds what rides on
 * the leg: roster, recording status and the user-side outcome, through the `decided` / `joined` /
 * `ended` hooks.
 *
 * `state` is the platform's truth and changes the moment the platform decides (so a keepAlive
 * right after a DELETE already sees 'terminating'); `waitFor` resolves only once the notification
 * announcing a state was delivered, which is what a test of the bot's reaction wants.
 */
import { CallNotices } from './call-notices.js';
import { CallTimers } from './call-timers.js';
import type { Clock, ClockTimer } from './clock.js';
import type { Deliverer } from './deliveries.js';
import type { MediaPeerSettings } from './media-peer.js';
import { RESULTS, callView, type Invite } from './payloads.js';
import { StateWaiters } from './state-waiters.js';
import type {
  PlaceCallOptions,
  ResultInfo,
  SimCall,
  SimCallState,
  SimUserOutcomeReason,
  SimulatorLogger,
} from './types.js';

export interface CallDeps {
  deliverer: Deliverer;
  /** The simulator's clock: the deadline, keep-alive expiry and establish delays run on it. */
  clock: Clock;
  answerDeadlineMs: number;
  establishDelayMs: number;
  keepAliveTimeoutMs: number;
  /** The media peer's settings when media is enabled for the call (`PlaceCallOptions.media`). */
  media?: MediaPeerSettings;
  /** The current global webhook (settable while calls run). */
  webhookUrl(): string;
  logger?: SimulatorLogger;
}

export interface CallInit {
  id: string;
  tenantId: string;
  kind: 'p2p' | 'meeting';
  userId: string;
  invite: Invite;
  options: PlaceCallOptions;
}

const LIVE: ReadonlySet<SimCallState> = new Set(['answered', 'establishing', 'established']);

export abstract class CallLeg {
  readonly id: string;
  readonly tenantId: string;
  readonly kind: 'p2p' | 'meeting';
  readonly userId: string;
  readonly callChainId: string;
  readonly invitedAt: number;
  state: SimCallState = 'invited';
  answer?: SimCall['answer'];
  reject?: { at: number; reason: string };
  answerAttempts = 0;
  result?: ResultInfo;
  readonly keepAlives: number[] = [];

  protected readonly waiters: StateWaiters;
  protected readonly timers: CallTimers;
  protected readonly notices: CallNotices;
  protected readonly options: PlaceCallOptions;
  protected readonly invite: Invite;
  /** When the leg reached 'established': before it the "Required before …" flags apply. */
  protected establishedAt: number | undefined;
  protected ending: Promise<void> | undefined;
  protected closed = false;
  private callbackUri: string | undefined;
  private lastAliveAt = 0;
  private aliveTimer: ClockTimer | undefined;

  constructor(
    init: CallInit,
    private readonly deps: CallDeps,
  ) {
    this.invitedAt = deps.clock.now();
    this.timers = new CallTimers(deps.clock);
    this.id = init.id;
    this.tenantId = init.tenantId;
    this.kind = init.kind;
    this.userId = init.userId;
    this.callChainId = init.invite.callChainId;
    this.options = init.options;
    this.invite = init.invite;
    this.waiters = new StateWaiters(init.id);
    this.notices = new CallNotices({
      deliverer: deps.deliverer,
      callId: this.id,
      tenantId: this.tenantId,
      callChainId: this.callChainId,
      resource: init.invite.resource,
      casing: init.options.casing ?? 'docs',
      tokenMode: init.options.tokenMode ?? 'valid',
      duplicate: init.options.duplicateNotifications === true,
      target: () => this.target(),
      closed: () => this.closed,
      announced: (state) => this.waiters.mark(state),
      logger: deps.logger,
    });
  }

  /** The leg went a way the policy flags have a say about (docs/teams-protocol.md#policy-flags). */
  protected abstract decided(reason: SimUserOutcomeReason): void;
  /** The leg was just established. */
  protected abstract joined(): void;
  /** The final notification was delivered; `why` says how the leg ended. */
  protected abstract ended(why: string): void;
  /** An answer was accepted (`this.answer` holds it): the platform connects to its media. */
  protected abstract answered(): void;
  /** The platform just decided the leg ends with `result`, before any notification. */
  protected abstract leaving(result: ResultInfo): void;
  protected abstract describe(): string;

  /** Start the deadline and deliver the invite; resolves when its POST(s) returned. */
  start(inviteBody: unknown): Promise<void> {
    this.timers.after(this.deps.answerDeadlineMs, () => this.missDeadline());
    return this.notices.incoming(inviteBody, this.deps.webhookUrl());
  }

  /** True while an answer or reject would still be accepted. */
  isPending(): boolean {
    if (this.state !== 'invited' || this.ending) return false;
    // Timers can fire late under load; the deadline is a fact about time, not about the timer.
    if (this.deps.clock.now() - this.invitedAt >= this.deps.answerDeadlineMs) this.missDeadline();
    return this.state === 'invited';
  }

  /** answered, establishing or established: keepAlive and updateRecordingStatus work. */
  isLive(): boolean {
    if (!LIVE.has(this.state) || this.ending) return false;
    // Same reasoning as isPending: a late timer must not keep a starved call alive.
    if (this.deps.clock.now() - this.lastAliveAt >= this.deps.keepAliveTimeoutMs)
      this.expireKeepAlive();
    return LIVE.has(this.state);
  }

  isEnded(): boolean {
    return this.state === 'terminating' || this.state === 'terminated' || this.ending !== undefined;
  }

  acceptAnswer(body: { callbackUri?: string }, path: string): void {
    this.timers.clear();
    this.state = 'answered';
    this.answer = { at: this.deps.clock.now(), body, path };
    this.callbackUri = body.callbackUri;
    this.armKeepAlive();
    this.waiters.mark('answered');
    const swap = this.options.swapEstablishOrder === true;
    const delay = this.deps.establishDelayMs;
    this.timers.after(delay, () => {
      if (swap) {
        this.establish();
        // The late 'establishing' is stale news; the state stays 'established'.
        this.timers.after(delay, () => void this.notices.state('establishing'));
      } else {
        this.state = 'establishing';
        void this.notices.state('establishing');
        this.timers.after(delay, () => this.establish());
      }
    });
    this.answered();
  }

  acceptReject(reason: string, callbackUri: string | undefined): void {
    this.timers.clear();
    this.state = 'rejected';
    this.reject = { at: this.deps.clock.now(), reason };
    this.callbackUri = callbackUri;
    this.decided('rejected');
    this.waiters.mark('rejected');
    // A rejected call produces only the `deleted` notification (docs/teams-protocol.md#reject).
    void this.end(RESULTS.rejected, false);
  }

  /**
   * A successful keepAlive: logged, and the starvation clock restarts
   * (docs/teams-protocol.md#other-operations).
   */
  acceptKeepAlive(): void {
    this.keepAlives.push(this.deps.clock.now());
    this.armKeepAlive();
  }

  /** DELETE by the bot: 'terminating' then 'terminated' 200/7000. */
  endByBot(): void {
    this.decided('botHungUp');
    void this.end(RESULTS.endedByBot, true);
  }

  hangUp(opts: { code?: number; subcode?: number } = {}): Promise<void> {
    if (this.ending) return this.ending;
    const base = this.kind === 'p2p' ? RESULTS.remoteP2p : RESULTS.remoteMeeting;
    const result = { ...base, code: opts.code ?? base.code, subcode: opts.subcode ?? base.subcode };
    // The user's own call ended: no policy consequence, the outcome stays as it was.
    return this.end(result, this.state !== 'invited');
  }

  failMedia(): Promise<void> {
    if (!this.isLive()) {
      return Promise.reject(new Error(`call ${this.id}: no media to fail (${this.describe()})`));
    }
    this.decided('mediaFailed');
    return this.end(RESULTS.mediaFailed, true);
  }

  /**
   * The platform could not connect to the bot's media endpoint: 'terminating', then 500/1005
   * (docs/teams-protocol.md#call-states, #media). Ignored once the leg is no longer live.
   */
  protected failMediaConnect(): void {
    if (!this.isLive()) return;
    this.decided('mediaConnectFailed');
    void this.end(RESULTS.mediaConnectFailed, true);
  }

  waitFor(state: SimCallState, timeoutMs = 10_000): Promise<void> {
    if (!this.waiters.has(state)) {
      if (this.closed) return Promise.reject(new Error(`call ${this.id}: simulator closed`));
      if (this.waiters.has('terminated')) {
        return Promise.reject(new Error(`call ${this.id}: ${this.describe()}, never '${state}'`));
      }
    }
    return this.waiters.wait(state, timeoutMs, () => this.describe());
  }

  /**
   * The call resource as `GET /communications/calls/{id}` returns it
   * (docs/teams-protocol.md#other-operations).
   */
  graphView(): Record<string, unknown> {
    return callView(this.invite.resource, this.state, this.target(), this.result);
  }

  private missDeadline(): void {
    if (this.state !== 'invited' || this.ending) return;
    // The leg is over the moment the platform gives up, before the bot is told.
    this.state = 'terminated';
    this.decided('deadlineMissed');
    void this.end(RESULTS.deadlineMissed, false);
  }

  private armKeepAlive(): void {
    this.lastAliveAt = this.deps.clock.now();
    this.timers.cancel(this.aliveTimer);
    this.aliveTimer = this.timers.after(this.deps.keepAliveTimeoutMs, () => this.expireKeepAlive());
  }

  /**
   * No keepAlive for too long: the platform cleans the call up with only a `deleted`
   * (docs/teams-protocol.md#other-operations).
   */
  private expireKeepAlive(): void {
    if (!LIVE.has(this.state) || this.ending) return;
    this.state = 'terminated';
    this.decided('keepAliveExpired');
    void this.end(RESULTS.keepAliveExpired, false);
  }

  private establish(): void {
    if (this.state !== 'answered' && this.state !== 'establishing') return;
    this.state = 'established';
    this.establishedAt = this.deps.clock.now();
    this.decided('established');
    void this.notices.state('established');
    this.joined();
    const holdMs = this.options.holdMs;
    if (holdMs !== undefined) this.timers.after(holdMs, () => void this.hangUp());
  }

  /** End the leg once; later calls get the same promise. */
  private end(result: ResultInfo, withTerminating: boolean): Promise<void> {
    if (this.ending) return this.ending;
    this.timers.clear();
    this.result = result;
    this.leaving(result);
    if (withTerminating) {
      this.state = 'terminating';
      void this.notices.state('terminating');
    }
    const gone = () => {
      this.state = 'terminated';
    };
    this.ending = this.notices.deleted(result, gone).then(() => {
      this.ended(`ended ${result.code}/${result.subcode}`);
    });
    return this.ending;
  }

  /**
   * After an answer or reject, its callbackUri pins the call; else the global webhook
   * (docs/teams-protocol.md#callback-routing).
   */
  private target(): string {
    return this.callbackUri ?? this.deps.webhookUrl();
  }

  /** Stop every timer and fail waiters; used by `Simulator.close()`. */
  close(): void {
    this.closed = true;
    this.timers.clear();
    this.waiters.failAll('simulator closed');
  }
}
