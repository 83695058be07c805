/**
 * One simulated call leg of the bot, from the platform's side: the answer deadline (reference
 * §4.3, §12.6), establishing/established after an accepted answer (§5.1, optionally swapped),
 * and every way the leg ends (§5.1 end codes, §12.8). Notifications of a call are delivered one
 * at a time in order through a per-call queue, as the platform serialises per resource (§5.4).
 *
 * `state` is the platform's truth and changes the moment the platform decides (so a keepAlive
 * right after a DELETE already sees 'terminating'); `waitFor` resolves only once the notification
 * announcing a state was delivered, which is what a test of the bot's reaction wants.
 */
import type { Deliverer } from './deliveries.js';
import { RESULTS, callView, stateNotification, type ChangeType, type Invite } from './payloads.js';
import { StateWaiters } from './state-waiters.js';
import type {
  DeliveryKind,
  PlaceCallOptions,
  ResultInfo,
  SimCall,
  SimCallState,
  SimulatorLogger,
} from './types.js';

export interface CallDeps {
  deliverer: Deliverer;
  answerDeadlineMs: number;
  establishDelayMs: number;
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

export class SimCallImpl implements SimCall {
  readonly id: string;
  readonly tenantId: string;
  readonly kind: 'p2p' | 'meeting';
  readonly userId: string;
  readonly callChainId: string;
  readonly invitedAt = Date.now();
  state: SimCallState = 'invited';
  answer?: SimCall['answer'];
  reject?: { at: number; reason: string };
  answerAttempts = 0;
  result?: ResultInfo;
  userOutcome?: 'recorded' | 'callCancelled';
  readonly recordingStatusUpdates: { at: number; status: string; clientContext?: string }[] = [];
  readonly keepAlives: number[] = [];

  private readonly waiters: StateWaiters;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly options: PlaceCallOptions;
  private readonly resource: Record<string, unknown>;
  private queue: Promise<void> = Promise.resolve();
  private callbackUri: string | undefined;
  private etag = 0;
  private ending: Promise<void> | undefined;
  private closed = false;

  constructor(
    init: CallInit,
    private readonly deps: CallDeps,
  ) {
    this.id = init.id;
    this.tenantId = init.tenantId;
    this.kind = init.kind;
    this.userId = init.userId;
    this.callChainId = init.invite.callChainId;
    this.options = init.options;
    this.resource = init.invite.resource;
    this.waiters = new StateWaiters(init.id);
  }

  /** Start the deadline and deliver the invite; resolves when its POST(s) returned. */
  start(inviteBody: unknown): Promise<void> {
    this.after(this.deps.answerDeadlineMs, () => this.missDeadline());
    return this.enqueue('incoming', 'invited', () => inviteBody, this.deps.webhookUrl());
  }

  /** True while an answer or reject would still be accepted. */
  isPending(): boolean {
    if (this.state !== 'invited' || this.ending) return false;
    // Timers can fire late under load; the deadline is a fact about time, not about the timer.
    if (Date.now() - this.invitedAt >= this.deps.answerDeadlineMs) this.missDeadline();
    return this.state === 'invited';
  }

  /** answered, establishing or established: keepAlive and updateRecordingStatus work. */
  isLive(): boolean {
    return LIVE.has(this.state);
  }

  isEnded(): boolean {
    return this.state === 'terminating' || this.state === 'terminated' || this.ending !== undefined;
  }

  acceptAnswer(body: { callbackUri?: string }, path: string): void {
    this.clearTimers();
    this.state = 'answered';
    this.answer = { at: Date.now(), body, path };
    this.callbackUri = body.callbackUri;
    this.waiters.mark('answered');
    const swap = this.options.swapEstablishOrder === true;
    const delay = this.deps.establishDelayMs;
    this.after(delay, () => {
      if (swap) {
        this.establish();
        // The late 'establishing' is stale news; the state stays 'established'.
        this.after(delay, () => void this.notifyState('establishing'));
      } else {
        this.state = 'establishing';
        void this.notifyState('establishing');
        this.after(delay, () => this.establish());
      }
    });
  }

  acceptReject(reason: string, callbackUri: string | undefined): void {
    this.clearTimers();
    this.state = 'rejected';
    this.reject = { at: Date.now(), reason };
    this.callbackUri = callbackUri;
    // Policy default RequiredBeforeCallEstablishment = true: no recorder, no call (§4.5).
    this.userOutcome = 'callCancelled';
    this.waiters.mark('rejected');
    // A rejected call produces only the `deleted` notification (§5.1, D-reject).
    void this.end(RESULTS.rejected, false);
  }

  /** DELETE by the bot: 'terminating' then 'terminated' 200/7000. */
  endByBot(): void {
    if (this.state === 'invited') this.userOutcome = 'callCancelled';
    void this.end(RESULTS.endedByBot, true);
  }

  hangUp(opts: { code?: number; subcode?: number } = {}): Promise<void> {
    if (this.ending) return this.ending;
    const base = this.kind === 'p2p' ? RESULTS.remoteP2p : RESULTS.remoteMeeting;
    const result = { ...base, code: opts.code ?? base.code, subcode: opts.subcode ?? base.subcode };
    return this.end(result, this.state !== 'invited');
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

  /** Stop every timer and fail waiters; used by `Simulator.close()`. */
  close(): void {
    this.closed = true;
    this.clearTimers();
    this.waiters.failAll('simulator closed');
  }

  /** The call resource as `GET /communications/calls/{id}` returns it (§7). */
  graphView(): Record<string, unknown> {
    return callView(this.resource, this.state, this.target(), this.result);
  }

  toJSON(): Record<string, unknown> {
    const { id, tenantId, kind, userId, callChainId, invitedAt, state, answer, reject } = this;
    const { answerAttempts, result, userOutcome, recordingStatusUpdates, keepAlives } = this;
    return {
      ...{ id, tenantId, kind, userId, callChainId, invitedAt, state, answer, reject },
      ...{ answerAttempts, result, userOutcome, recordingStatusUpdates, keepAlives },
    };
  }

  private describe(): string {
    const r = this.result;
    return r ? `state ${this.state}, ended ${r.code}/${r.subcode}` : `state ${this.state}`;
  }

  private missDeadline(): void {
    if (this.state !== 'invited' || this.ending) return;
    // The leg is over the moment the platform gives up, before the bot is told.
    this.state = 'terminated';
    this.userOutcome = 'callCancelled';
    void this.end(RESULTS.deadlineMissed, false);
  }

  private establish(): void {
    if (this.state !== 'answered' && this.state !== 'establishing') return;
    this.state = 'established';
    this.userOutcome = 'recorded';
    void this.notifyState('established');
    const holdMs = this.options.holdMs;
    if (holdMs !== undefined) this.after(holdMs, () => void this.hangUp());
  }

  /** End the leg once; later calls get the same promise. */
  private end(result: ResultInfo, withTerminating: boolean): Promise<void> {
    if (this.ending) return this.ending;
    this.clearTimers();
    this.result = result;
    if (withTerminating) {
      this.state = 'terminating';
      void this.notifyState('terminating');
    }
    this.ending = this.enqueue('deleted', 'terminated', () => {
      this.state = 'terminated';
      return this.stateBody('deleted', 'terminated', result);
    }).then(() => this.waiters.failAll(`ended ${result.code}/${result.subcode}`));
    return this.ending;
  }

  private notifyState(state: 'establishing' | 'established' | 'terminating'): Promise<void> {
    return this.enqueue('state', state, () => this.stateBody('updated', state));
  }

  private stateBody(change: ChangeType, state: string, result?: ResultInfo): unknown {
    this.etag += 1;
    return stateNotification(this.resource, change, this.options.casing ?? 'docs', {
      state,
      etag: this.etag,
      callbackUri: this.target(),
      result,
    });
  }

  /** After an answer or reject, its callbackUri pins the call; else the global webhook (§5.5). */
  private target(): string {
    return this.callbackUri ?? this.deps.webhookUrl();
  }

  /**
   * Queue one notification (twice with `duplicateNotifications`). The body is built when its
   * turn comes, so etags and terminal state follow delivery order.
   */
  private enqueue(
    kind: DeliveryKind,
    state: SimCallState,
    body: () => unknown,
    url?: string,
  ): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.closed) return;
      const payload = body();
      const base = {
        url: url ?? this.target(),
        body: payload,
        tenantId: this.tenantId,
        tokenMode: this.options.tokenMode ?? 'valid',
        kind,
        callId: this.id,
        callChainId: this.callChainId,
        state: state === 'invited' ? 'incoming' : state,
      };
      const first = await this.deps.deliverer.send(base);
      if (this.options.duplicateNotifications && !this.closed) {
        await this.deps.deliverer.send({
          ...base,
          duplicate: true,
          originalMessageId: first.messageId,
        });
      }
      this.waiters.mark(state);
    };
    const next = this.queue.then(run).catch((err: unknown) => {
      this.deps.logger?.warn({ callId: this.id, err }, 'notification failed');
    });
    this.queue = next;
    return next;
  }

  private after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
