/**
 * A simulated call as tests see it (`SimCall`): the leg's lifecycle (`call-leg.ts`) plus what
 * rides on it — the roster once established (docs/teams-protocol.md#roster), the
 * updateRecordingStatus ledger (docs/teams-protocol.md#recording-status) and the recorded user's
 * outcome under the policy flags (docs/teams-protocol.md#policy-flags).
 *
 * `userOutcome`, like `state`, changes the moment the platform decides; `waitForOutcome` needs
 * no notification, because the user-side outcome is not something the bot is told.
 */
import { CallLeg, type CallDeps, type CallInit } from './call-leg.js';
import { CallRoster } from './call-roster.js';
import { MediaPeer } from './media-peer.js';
import { RESULTS } from './payloads.js';
import { RecordingLedger } from './recording-status.js';
import { UserOutcomes, decideOutcome } from './user-outcome.js';
import type {
  ResultInfo,
  SimCall,
  SimParticipant,
  SimParticipantInput,
  SimUserOutcome,
  SimUserOutcomeReason,
} from './types.js';

export type { CallDeps, CallInit } from './call-leg.js';

export class SimCallImpl extends CallLeg implements SimCall {
  private readonly outcomes: UserOutcomes;
  private readonly recording: RecordingLedger;
  private readonly roster: CallRoster;
  /**
   * The platform's media leg, when media is enabled for the call (docs/teams-protocol.md#media).
   */
  readonly media?: MediaPeer;

  constructor(init: CallInit, deps: CallDeps) {
    super(init, deps);
    if (deps.media) {
      this.media = new MediaPeer({
        ...deps.media,
        callId: init.id,
        clock: deps.clock,
        participants: () => this.roster.list(),
        connectFailed: () => this.failMediaConnect(),
        logger: deps.logger,
      });
    }
    this.recording = new RecordingLedger(deps.clock);
    this.outcomes = new UserOutcomes(init.id, deps.clock);
    this.roster = new CallRoster({
      tenantId: init.tenantId,
      mode: init.options.rosterMode ?? 'full',
      sequenceNumbers: init.options.rosterSequenceNumbers ?? true,
      notices: this.notices,
      recordingStatus: () => this.recording.current,
      refusal: () =>
        this.state === 'established' && !this.ending && !this.closed
          ? undefined
          : `call ${this.id}: no roster changes unless established (${this.describe()})`,
    });
  }

  get userOutcome(): SimUserOutcome {
    return this.outcomes.outcome;
  }
  get userEvents(): SimCall['userEvents'] {
    return this.outcomes.events;
  }
  get recordingStatusUpdates(): SimCall['recordingStatusUpdates'] {
    return this.recording.updates;
  }
  get recordingConfirmedAt(): number | undefined {
    return this.recording.confirmedAt;
  }
  get participants(): SimParticipant[] {
    return this.roster.list();
  }
  /**
   * False when the call was placed as a non-compliance-recording call (8506,
   * docs/teams-protocol.md#recording-status).
   */
  get complianceRecording(): boolean {
    return this.options.complianceRecording !== false;
  }

  /** Record an updateRecordingStatus request with the HTTP status it was answered with. */
  noteRecordingStatus(body: string, httpStatus: number): void {
    this.recording.note(body, httpStatus);
  }

  addParticipant(p: SimParticipantInput): Promise<SimParticipant> {
    return this.roster.add(p);
  }
  removeParticipant(id: string): Promise<void> {
    return this.roster.remove(id);
  }
  setMuted(id: string, muted: boolean): Promise<void> {
    return this.roster.setMuted(id, muted);
  }
  setInLobby(id: string, inLobby: boolean): Promise<void> {
    return this.roster.setInLobby(id, inLobby);
  }

  waitForOutcome(outcome: Exclude<SimUserOutcome, 'pending'>, timeoutMs = 10_000): Promise<void> {
    if (!this.outcomes.reached(outcome)) {
      if (this.closed) return Promise.reject(new Error(`call ${this.id}: simulator closed`));
      if (this.waiters.has('terminated')) {
        return Promise.reject(new Error(`call ${this.id}: ${this.describe()}, never '${outcome}'`));
      }
    }
    return this.outcomes.wait(outcome, timeoutMs, () => this.describe());
  }

  override close(): void {
    super.close();
    this.media?.close();
    this.outcomes.failAll('simulator closed');
  }

  toJSON(): Record<string, unknown> {
    const { id, tenantId, kind, userId, callChainId, invitedAt, state, answer, reject } = this;
    const { answerAttempts, result, userOutcome, userEvents, keepAlives, participants } = this;
    const { recordingStatusUpdates, recordingConfirmedAt } = this;
    return {
      ...{ id, tenantId, kind, userId, callChainId, invitedAt, state, answer, reject },
      ...{ answerAttempts, result, userOutcome, userEvents, keepAlives, participants },
      ...{ recordingStatusUpdates, recordingConfirmedAt, media: this.media?.summary() },
    };
  }

  protected describe(): string {
    const r = this.result;
    const ended = r ? `, ended ${r.code}/${r.subcode}` : '';
    return `state ${this.state}${ended}, user ${this.userOutcome}`;
  }

  protected decided(reason: SimUserOutcomeReason): void {
    const joined = this.establishedAt !== undefined;
    const outcome = decideOutcome(this.kind, this.options.policy ?? {}, reason, joined);
    this.outcomes.record(outcome, reason);
  }

  protected joined(): void {
    if (this.options.initialRoster === false) return;
    void this.roster.joined(this.kind, this.userId, this.invite.parties);
  }

  protected answered(): void {
    // eslint-disable-next-line @typescript-eslint/no-unsafe-member-access -- free-form JSON
    this.media?.start(this.answer?.body?.mediaConfig?.blob);
  }

  protected leaving(result: ResultInfo): void {
    // A media failure is the connection dying, not an orderly END
    // (docs/teams-protocol.md#call-states).
    this.media?.stop(result === RESULTS.mediaFailed ? 'drop' : 'end');
  }

  protected ended(why: string): void {
    this.waiters.failAll(why);
    this.outcomes.failAll(why);
  }
}
