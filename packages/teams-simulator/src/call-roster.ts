/**
 * The roster side of a call (docs/teams-protocol.md#roster): the `SimCall` roster methods and the
 * initial roster sent once the bot's leg is established. Changes are refused unless the bot is
 * in the call, since only then does the platform send it rosters.
 */
import type { CallNotices } from './call-notices.js';
import type { InviteParties } from './payloads.js';
import { Roster, type RosterChange } from './roster.js';
import type { SimParticipant, SimParticipantInput, SimRecordingStatus } from './types.js';

export interface CallRosterDeps {
  tenantId: string;
  mode: 'full' | 'delta';
  /** Stamp `rosterSequenceNumber` (real traffic mostly has none). */
  sequenceNumbers: boolean;
  notices: CallNotices;
  recordingStatus(): SimRecordingStatus;
  /** Why the roster cannot change now, or undefined when it can. */
  refusal(): string | undefined;
}

export class CallRoster {
  private readonly roster: Roster;

  constructor(private readonly deps: CallRosterDeps) {
    this.roster = new Roster(deps);
  }

  list(): SimParticipant[] {
    return this.roster.list();
  }

  /** Send the roster the bot finds on joining (see `Roster.initial`). */
  joined(kind: 'p2p' | 'meeting', userId: string, parties: InviteParties): Promise<void> {
    return this.deps.notices.roster(this.roster.initial(kind, userId, parties));
  }

  async add(input: SimParticipantInput): Promise<SimParticipant> {
    this.check();
    const { participant, change } = this.roster.add(input);
    await this.deps.notices.roster(change);
    return participant;
  }

  remove(participantId: string): Promise<void> {
    return this.change(() => this.roster.remove(participantId));
  }

  setMuted(participantId: string, muted: boolean): Promise<void> {
    return this.change(() => this.roster.update(participantId, { isMuted: muted }));
  }

  setInLobby(participantId: string, inLobby: boolean): Promise<void> {
    return this.change(() => this.roster.update(participantId, { isInLobby: inLobby }));
  }

  private async change(apply: () => RosterChange): Promise<void> {
    this.check();
    await this.deps.notices.roster(apply());
  }

  private check(): void {
    const refusal = this.deps.refusal();
    if (refusal !== undefined) throw new Error(refusal);
  }
}
