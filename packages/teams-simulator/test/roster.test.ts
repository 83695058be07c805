/**
 * Roster notifications (docs/teams-protocol.md#roster): the initial roster after establishment,
 * full and delta shapes, identities by participant kind, MSIs, mute/lobby/removal, and
 * recordingInfo following the bot's accepted updateRecordingStatus
 * (docs/teams-protocol.md#recording-status).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PlaceCallOptions, SimCall } from '../src/index.js';
import {
  callIdOf,
  isRosterOf,
  notificationOf,
  participantsOf,
  stateOf,
  type ParticipantData,
  type Received,
} from './bot-stub.js';
import {
  callbackFor,
  establish,
  graphAction,
  startHarness,
  type Harness,
  GRAPH_SUCCESS,
} from './setup.js';

const TENANT = '7e1e0000-0000-4000-8000-0000000000a1';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ answerDeadlineMs: 10_000 });
  await h.graph.token(TENANT); // warm msal's cache so answers are quick
});
afterAll(async () => {
  await h?.close();
});

const rosters = (call: SimCall): Received[] => h.bot.received.filter(isRosterOf(call.id));
const lastRoster = (call: SimCall): Received => rosters(call).at(-1)!;
const placeEstablished = async (o: PlaceCallOptions = {}): Promise<SimCall> => {
  const call = await h.sim.placeCall({ tenantId: TENANT, ...o });
  await establish(h, call);
  return call;
};
/** The initial roster is queued right behind 'established'; wait until it arrived. */
const initialRoster = (call: SimCall) => h.bot.next(isRosterOf(call.id));
const sourceIds = (ps: ParticipantData[]) =>
  ps.flatMap((p) => (p.mediaStreams ?? []).map((s) => s.sourceId));
const byId = (ps: ParticipantData[], id: string) => ps.find((p) => p.id === id);

describe('initial roster', () => {
  it('P2P: recorded user, the other side and the bot, with the ids the invite announced', async () => {
    const userId = 'a1a10000-0000-4000-8000-000000000001';
    const call = await placeEstablished({ userId });
    const r = await initialRoster(call);
    const invite = notificationOf(h.bot.received.find((x) => callIdOf(x) === call.id)!)!;
    const data = invite.resourceData;
    // It follows 'established' on the call's callbackUri, in the documented envelope.
    const atCallback = h.bot.received.filter(
      (x) => x.path === new URL(callbackFor(h, call.id)).pathname,
    );
    expect(atCallback.map((x) => (isRosterOf(call.id)(x) ? 'roster' : stateOf(x)))).toEqual([
      'establishing',
      'established',
      'roster',
    ]);
    expect(r.verified.ok).toBe(true);
    expect(notificationOf(r)).toMatchObject({
      changeType: 'updated',
      resourceUrl: `/communications/calls/${call.id}/participants`,
      callbackUri: callbackFor(h, call.id),
    });
    const ps = participantsOf(r);
    expect(ps).toHaveLength(3);
    const user = byId(ps, data.incomingContext!.observedParticipantId!);
    expect(user?.info?.identity?.user).toMatchObject({ id: userId, tenantId: TENANT });
    expect(user?.info?.identity?.user?.displayName).toEqual(expect.any(String) as unknown);
    const otherSide = data.applicationMetadata!.botData!.otherSideUser!;
    const other = byId(ps, otherSide.participantId!);
    expect(`8:orgid:${other?.info?.identity?.user?.id}`).toBe(otherSide.id);
    const bot = byId(ps, data.myParticipantId!);
    expect(bot?.info?.identity?.applicationInstance?.id).toBe(
      data.targets![0]!.identity!.applicationInstance!.id,
    );
    expect(bot?.info?.identity?.user).toBeUndefined();
    expect(bot?.mediaStreams?.map((s) => s.mediaType)).toEqual(['audio']);
    const ids = sourceIds(ps);
    expect(ids.every((id) => /^\d+$/.test(id ?? ''))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ps.every((p) => p.recordingInfo?.recordingStatus === 'unknown')).toBe(true);
    expect(ps.every((p) => p.isMuted === false && p.isInLobby === false)).toBe(true);
    expect(call.participants).toEqual(ps);
    // The simulator logs a delivery once the bot's reply is read, a moment after the bot saw it.
    await vi.waitFor(() => {
      const logged = h.sim.deliveries.filter((d) => d.callId === call.id && d.kind === 'roster');
      expect(logged).toMatchObject([{ status: 202, state: undefined }]);
    });
  });

  it('meeting: the recorded user, two other users and the bot', async () => {
    const call = await placeEstablished({ kind: 'meeting' });
    const ps = participantsOf(await initialRoster(call));
    expect(ps.filter((p) => p.info?.identity?.user)).toHaveLength(3);
    expect(ps.filter((p) => p.info?.identity?.applicationInstance)).toHaveLength(1);
    expect(ps.some((p) => p.info?.identity?.user?.id === call.userId)).toBe(true);
  });

  it('initialRoster: false sends none; the first change then carries only what was added', async () => {
    const call = await placeEstablished({ initialRoster: false });
    expect(call.participants).toEqual([]);
    // Roster notifications share the call's queue: an initial roster would arrive before this.
    const guest = await call.addParticipant({ kind: 'guest' });
    expect(rosters(call)).toHaveLength(1);
    expect(participantsOf(rosters(call)[0]!).map((p) => p.id)).toEqual([guest.id]);
  });

  it('is not sent for a call that never got established, and changes are refused', async () => {
    const call = await h.sim.placeCall({ tenantId: TENANT });
    await expect(call.addParticipant({ kind: 'user' })).rejects.toThrow(/unless established/);
    const rejected = await graphAction(h, call, 'reject', { reason: 'busy' });
    expect(rejected.status).toBeOneOf(GRAPH_SUCCESS);
    await call.waitFor('terminated');
    expect(rosters(call)).toEqual([]);
    expect(call.participants).toEqual([]);
  });
});

describe('full roster mode', () => {
  it('adds every participant kind with its identity shape and fresh MSIs', async () => {
    const call = await placeEstablished();
    const before = participantsOf(await initialRoster(call));
    const user = await call.addParticipant({
      kind: 'user',
      displayName: 'Ada',
      video: true,
      screenShare: true,
    });
    const guest = await call.addParticipant({ kind: 'guest', displayName: 'Visitor' });
    const phone = await call.addParticipant({ kind: 'phone', phoneNumber: '+442079460999' });
    const app = await call.addParticipant({ kind: 'application', id: 'app-1', muted: true });
    const ps = participantsOf(lastRoster(call));
    expect(ps.map((p) => p.id)).toEqual([
      ...before.map((p) => p.id),
      user.id,
      guest.id,
      phone.id,
      app.id,
    ]);
    expect(byId(ps, user.id)?.info?.identity?.user).toMatchObject({
      displayName: 'Ada',
      tenantId: TENANT,
    });
    expect(byId(ps, user.id)?.mediaStreams?.map((s) => [s.mediaType, s.direction])).toEqual([
      ['audio', 'sendReceive'],
      ['video', 'sendReceive'],
      ['videoBasedScreenSharing', 'sendOnly'],
    ]);
    const guestId = byId(ps, guest.id)?.info?.identity;
    expect(guestId?.user).toBeUndefined();
    expect(guestId?.guest).toMatchObject({ displayName: 'Visitor' });
    expect(guestId?.guest?.tenantId).toBeUndefined();
    expect(byId(ps, phone.id)?.info?.identity?.phone?.id).toBe('+442079460999');
    expect(byId(ps, app.id)?.info?.identity?.application).toMatchObject({ id: 'app-1' });
    expect(byId(ps, app.id)?.isMuted).toBe(true);
    const ids = sourceIds(ps);
    expect(new Set(ids).size).toBe(ids.length);
    const seqs = [user, guest, phone, app].map((p) => p.rosterSequenceNumber!);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(4);
    expect(Math.min(...seqs)).toBeGreaterThan(
      Math.max(...before.map((p) => p.rosterSequenceNumber!)),
    );
  });

  it('mute, lobby and removal show in the next full roster; unknown ids are refused', async () => {
    const call = await placeEstablished();
    await initialRoster(call);
    const guest = await call.addParticipant({ kind: 'guest', inLobby: true });
    expect(byId(participantsOf(lastRoster(call)), guest.id)?.isInLobby).toBe(true);
    await call.setInLobby(guest.id, false);
    await call.setMuted(call.participants[0]!.id, true);
    let ps = participantsOf(lastRoster(call));
    expect(notificationOf(lastRoster(call))?.changeType).toBe('updated');
    expect(byId(ps, guest.id)?.isInLobby).toBe(false);
    expect(ps[0]?.isMuted).toBe(true);
    expect(ps.filter((p) => p.isMuted)).toHaveLength(1);
    expect(ps[0]!.rosterSequenceNumber).toBeGreaterThan(byId(ps, guest.id)!.rosterSequenceNumber!);
    await call.removeParticipant(guest.id);
    ps = participantsOf(lastRoster(call));
    expect(notificationOf(lastRoster(call))?.changeType).toBe('updated');
    expect(byId(ps, guest.id)).toBeUndefined();
    expect(ps).toHaveLength(3);
    await expect(call.setMuted(guest.id, true)).rejects.toThrow(/no participant/);
    await call.hangUp();
    await expect(call.addParticipant({ kind: 'user' })).rejects.toThrow(/unless established/);
  });

  it('recordingInfo follows the last accepted updateRecordingStatus only', async () => {
    const call = await placeEstablished();
    await initialRoster(call);
    const update = (status: string) =>
      graphAction(h, call, 'updateRecordingStatus', { clientContext: `c-${status}`, status });
    expect((await update('recording')).status).toBe(200);
    expect((await update('paused')).status).toBe(400);
    const guest = await call.addParticipant({ kind: 'guest' });
    const ps = participantsOf(lastRoster(call));
    expect(ps.map((p) => p.recordingInfo?.recordingStatus)).toEqual(ps.map(() => 'recording'));
    expect(guest.recordingInfo.recordingStatus).toBe('recording');
    expect((await update('notRecording')).status).toBe(200);
    expect(call.participants.every((p) => p.recordingInfo.recordingStatus === 'notRecording')).toBe(
      true,
    );
  });
});

describe('delta roster mode', () => {
  it('sends only changes, removals as deleted; real casing capitalises them', async () => {
    const call = await placeEstablished({ rosterMode: 'delta', casing: 'real' });
    expect(participantsOf(await initialRoster(call))).toHaveLength(3);
    const phone = await call.addParticipant({ kind: 'phone' });
    expect(participantsOf(lastRoster(call)).map((p) => p.id)).toEqual([phone.id]);
    expect(participantsOf(lastRoster(call))[0]?.info?.identity?.phone?.id).toMatch(/^\+44\d+$/);
    await call.setMuted(phone.id, true);
    const muted = participantsOf(lastRoster(call));
    expect(muted).toMatchObject([{ id: phone.id, isMuted: true }]);
    expect(muted[0]!.rosterSequenceNumber).toBeGreaterThan(phone.rosterSequenceNumber!);
    await call.removeParticipant(phone.id);
    const removal = lastRoster(call);
    expect(participantsOf(removal)).toMatchObject([{ id: phone.id }]);
    expect(participantsOf(removal)[0]!.rosterSequenceNumber).toBeGreaterThan(
      muted[0]!.rosterSequenceNumber!,
    );
    expect(rosters(call).map((r) => notificationOf(r)?.changeType)).toEqual([
      'Updated',
      'Updated',
      'Updated',
      'Deleted',
    ]);
    expect(call.participants.map((p) => p.id)).not.toContain(phone.id);
    expect(call.participants).toHaveLength(3);
  });
});
