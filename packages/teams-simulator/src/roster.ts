/**
 * The platform's roster of one call (docs/teams-protocol.md#roster). Every change gets the next
 * roster sequence number, stamped on the participants it touched (`rosterSequenceNumber` is "the
 * roster sequence number the participant was last updated in"), and yields what to notify:
 *
 * - 'full' (documented): changeType 'updated' with every current participant;
 * - 'delta': only the touched participants, removals as changeType 'deleted'. The real wire shape
 *   of delta rosters and of removals is undocumented (docs/teams-protocol.md#roster, #unknowns);
 * this is our guess at it.
 *
 * `recordingInfo` is not stored: it is stamped from the call's recording ledger whenever the
 * roster is shown, so it always reflects the bot's last accepted `updateRecordingStatus`.
 */
import { randomUUID } from 'node:crypto';
import type { InviteParties } from './payloads.js';
import { botMember, newMember, type Member, type MemberIds } from './roster-payloads.js';
import type { SimParticipant, SimParticipantInput, SimRecordingStatus } from './types.js';

export interface RosterChange {
  change: 'updated' | 'deleted';
  participants: SimParticipant[];
}

export interface RosterDeps {
  tenantId: string;
  mode: 'full' | 'delta';
  /** @default true */
  sequenceNumbers?: boolean;
  recordingStatus(): SimRecordingStatus;
}

export class Roster {
  private readonly members = new Map<string, { member: Member; seq: number }>();
  private seq = 0;
  private lastSourceId = 0;
  private serial = 0;

  constructor(private readonly deps: RosterDeps) {}

  /** The current roster, in join order. */
  list(): SimParticipant[] {
    return [...this.members.keys()].map((id) => this.show(id));
  }

  /**
   * The roster a bot finds on joining: the recorded user, the other side (P2P: the caller;
   * meeting: two attendees) and the bot. Ids match what the invite announced.
   */
  initial(kind: 'p2p' | 'meeting', userId: string, parties: InviteParties): RosterChange {
    const seq = this.nextSeq();
    const ids = (participantId: string) => this.ids(participantId);
    const join = (m: Member) => this.members.set(m.id, { member: m, seq });
    join(
      newMember(
        { kind: 'user', id: userId, displayName: 'Recorded User', video: true },
        ids(parties.userParticipantId),
      ),
    );
    if (parties.otherSide) {
      const { userId: otherId, participantId } = parties.otherSide;
      join(newMember({ kind: 'user', id: otherId, video: true }, ids(participantId)));
    } else if (kind === 'meeting') {
      join(newMember({ kind: 'user', video: true }, ids(randomUUID())));
      join(newMember({ kind: 'user' }, ids(randomUUID())));
    }
    const botSource = this.nextSourceId();
    join(botMember(parties.botParticipantId, parties.appInstanceId, this.deps.tenantId, botSource));
    return this.changed([...this.members.keys()], 'updated');
  }

  add(input: SimParticipantInput): { participant: SimParticipant; change: RosterChange } {
    const member = newMember(input, this.ids(randomUUID()));
    this.members.set(member.id, { member, seq: this.nextSeq() });
    return { participant: this.show(member.id), change: this.changed([member.id], 'updated') };
  }

  update(
    participantId: string,
    patch: Partial<Pick<Member, 'isMuted' | 'isInLobby'>>,
  ): RosterChange {
    const entry = this.entry(participantId);
    entry.member = { ...entry.member, ...patch };
    entry.seq = this.nextSeq();
    return this.changed([participantId], 'updated');
  }

  remove(participantId: string): RosterChange {
    const entry = this.entry(participantId);
    entry.seq = this.nextSeq();
    const removed = this.show(participantId);
    this.members.delete(participantId);
    if (this.deps.mode === 'full') return { change: 'updated', participants: this.list() };
    return { change: 'deleted', participants: [removed] };
  }

  private changed(touched: string[], change: 'updated'): RosterChange {
    const participants =
      this.deps.mode === 'full' ? this.list() : touched.map((id) => this.show(id));
    return { change, participants };
  }

  private show(participantId: string): SimParticipant {
    const { member, seq } = this.entry(participantId);
    return {
      ...structuredClone(member),
      ...(this.deps.sequenceNumbers === false ? {} : { rosterSequenceNumber: seq }),
      recordingInfo: { recordingStatus: this.deps.recordingStatus() },
    };
  }

  private entry(participantId: string): { member: Member; seq: number } {
    const entry = this.members.get(participantId);
    if (!entry) throw new Error(`no participant ${participantId} in the roster`);
    return entry;
  }

  private ids(participantId: string): MemberIds {
    this.serial += 1;
    return {
      participantId,
      tenantId: this.deps.tenantId,
      nextSourceId: () => this.nextSourceId(),
      serial: this.serial,
    };
  }

  private nextSourceId(): string {
    this.lastSourceId += 1;
    return String(this.lastSourceId);
  }

  private nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }
}
