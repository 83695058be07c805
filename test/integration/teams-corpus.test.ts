/**
 * The corpus of real-shaped payloads (test/fixtures/teams/, written from Microsoft's docs)
 * replayed through the real ingress, Redis and workers: invites, state changes, full and delta
 * rosters (bots with application + guest identities, guests, phone, lobby, receive-only and
 * inactive streams, server mute), operation notifications and ends with their codes. Rosters
 * carry no rosterSequenceNumber, as real ones do, and deliveries are told apart by their
 * message ids, not their content: a roster that returns to an earlier state and a participant
 * muted, unmuted and muted again are applied; a redelivery that keeps its original id is not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Participant } from '../../machines/call.js';
import { createMediaSessionStore } from '../../src/media/session-store.js';
import type { SimCall } from '@cr-orchestrator/teams-simulator';
import { replay } from '../helpers/teams-corpus.js';
import { callReaches, placeEstablished, startSystem, type System } from '../helpers/system.js';

const RECORDED = 'b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d71';
const OTHER = 'e1d2c3b4-a596-4878-9a6b-5c4d3e2f1a61';
const RECORDER = 'd0e1f2a3-b4c5-4d6e-8f7a-9b0c1d2e3f91';
const BOT = 'f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0b1';
const BOT2 = 'a9b8c7d6-e5f4-4a3b-8c2d-1e0f9a8b7ce1';
const GUEST = 'c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e02';
const PHONE = 'd5e6f7a8-b9c0-4d1e-9f2a-3b4c5d6e7f22';
const LOBBY = 'e7f8a9b0-c1d2-4e3f-8a4b-5c6d7e8f9a32';
const BOT_APP = '7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3cc1';

async function contextOf(system: System, callId: string) {
  const call = await system.core.runtime.getCall(callId);
  if (!call) throw new Error(`no call ${callId}`);
  return { version: call.version, context: call.snapshot.context };
}

const ids = (call: SimCall) => ({ callId: call.id, tenantId: call.tenantId });

describe('invites from the corpus', () => {
  let system: System;
  beforeAll(async () => {
    // no workers: the simulator does not know these calls, so nobody answers them
    system = await startSystem({ name: 'corpus-invites', withWorkers: false });
  });
  afterAll(() => system?.close());

  it('a 1:1 and a meeting invite become calls being answered, with the invite facts', async () => {
    const tenantId = system.sim.defaultTenantId;
    const p2p = `corpus-p2p-${Date.now()}`;
    const meeting = `corpus-meeting-${Date.now()}`;
    await replay(system, 'incoming-p2p.json', { callId: p2p, tenantId });
    await replay(system, 'incoming-meeting.json', { callId: meeting, tenantId });
    const a = await callReaches(system, p2p, 'answering');
    expect(a.snapshot.context.invite).toEqual({
      callId: p2p,
      tenantId,
      kind: 'p2p',
      callChainId: '0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b41',
      recordedUserId: '5b3c8e2a-9d41-4f7b-8c2e-1a6d0f9b7c11',
      sourceParticipantId: '7d5b6c1e-0a43-4d1e-9a6f-3f0c2b8e1a01',
      myParticipantId: 'c4a1e6d2-8f3b-4a7c-9e05-6b2d1f8a3c31',
    });
    const m = await callReaches(system, meeting, 'answering');
    expect(m.snapshot.context.invite).toMatchObject({
      kind: 'meeting',
      recordedUserId: '6c7d8e9f-0a1b-4c2d-9e3f-4a5b6c7d8e81',
    });
  });
});

describe('a meeting replayed from the corpus (full rosters)', () => {
  let system: System;
  let call: SimCall;
  beforeAll(async () => {
    system = await startSystem({ name: 'corpus-full' });
    call = await placeEstablished(system, { kind: 'meeting', initialRoster: false });
  });
  afterAll(() => system?.close());

  const roster = async () => (await contextOf(system, call.id)).context.roster;
  const speakers = async () =>
    (await createMediaSessionStore(system.core.redis, system.prefix).speakers(call.id, 0)) as {
      sources: Record<string, { participantId: string; kind: string; identities: unknown[] }>;
    };

  it('state notifications repeat harmlessly', async () => {
    const before = await contextOf(system, call.id);
    await replay(system, 'establishing.json', ids(call));
    await replay(system, 'established.json', ids(call));
    const after = await callReaches(system, call.id, 'established');
    expect(after.version).toBe(before.version);
  });

  it('keeps every identity, only the streams a participant sends, mute, server mute and lobby', async () => {
    await replay(system, 'roster-initial.json', ids(call));
    expect(Object.keys((await roster()).participants).sort()).toEqual(
      [OTHER, RECORDED, RECORDER].sort(),
    );
    await replay(system, 'roster-joined.json', ids(call));
    const r = await roster();
    expect(Object.keys(r.participants)).toHaveLength(8);
    const bot = r.participants[BOT]!;
    const bot2 = r.participants[BOT2]!;
    expect(bot).toMatchObject<Partial<Participant>>({
      kind: 'application',
      identities: [
        { kind: 'application', id: BOT_APP },
        { kind: 'guest', id: '0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3ed1' },
      ],
      sources: { audio: '401' }, // its receive-only video (402) is someone else's media
    });
    // two instances of one bot share the app id and are told apart by their guest ids
    expect(bot2.identities).toEqual([
      { kind: 'application', id: BOT_APP },
      { kind: 'guest', id: '5d6e7f8a-9b0c-4d1e-8f2a-3b4c5d6e7ff1' },
    ]);
    expect(r.participants[GUEST]).toMatchObject({
      kind: 'guest',
      sources: { audio: '501', screen: '502' }, // the inactive video 503 is not a source
    });
    expect(r.participants[PHONE]).toMatchObject({
      kind: 'phone',
      identities: [{ kind: 'phone', id: '+442079460123' }],
      muted: true,
      serverMuted: true,
    });
    expect(r.participants[LOBBY]).toMatchObject({ kind: 'user', inLobby: true });
    expect(r.participants[RECORDER]).toMatchObject({ kind: 'applicationInstance' });
    // what the media process attributes: every source sent, none only received
    const { sources } = await speakers();
    expect(Object.keys(sources).sort()).toEqual(
      ['101', '102', '201', '301', '401', '451', '501', '502', '601', '701'].sort(),
    );
    expect(sources['401']).toEqual({
      participantId: BOT,
      kind: 'application',
      identities: bot.identities,
    });
  });

  it('a roster that returns to an earlier state is applied: who left is in the history', async () => {
    await replay(system, 'roster-initial.json', ids(call)); // same content as before, new delivery
    const r = await roster();
    expect(Object.keys(r.participants).sort()).toEqual([OTHER, RECORDED, RECORDER].sort());
    for (const id of [BOT, BOT2, GUEST, PHONE, LOBBY]) {
      const stint = r.history.find((s) => s.id === id)!;
      expect(stint.leftAt, id).toBeGreaterThanOrEqual(stint.joinedAt);
    }
    expect(r.history.find((s) => s.id === BOT)).toMatchObject({ sources: ['401'] });
    expect(Object.keys((await speakers()).sources)).not.toContain('401');
  });

  it('mute, unmute, mute ends muted', async () => {
    await replay(system, 'roster-other-muted.json', ids(call));
    await replay(system, 'roster-initial.json', ids(call));
    await replay(system, 'roster-other-muted.json', ids(call));
    expect((await roster()).participants[OTHER]?.muted).toBe(true);
  });

  it('a redelivery keeping its original message id is a no-op; no ids at all is applied', async () => {
    const joined = `joined-${Date.now()}`;
    const headers = (id: string, original: string) => ({
      'x-microsoft-skype-message-id': id,
      'x-microsoft-skype-original-message-id': original,
    });
    await replay(system, 'roster-joined.json', ids(call), headers(joined, joined));
    await replay(system, 'roster-initial.json', ids(call));
    const before = await contextOf(system, call.id);
    // the platform retries the old roster: a fresh message id, the original one kept
    await replay(system, 'roster-joined.json', ids(call), headers(`${joined}-retry`, joined));
    const after = await contextOf(system, call.id);
    expect(after.version).toBe(before.version);
    expect(Object.keys(after.context.roster.participants)).toHaveLength(3);
    // a delivery without either id is applied
    await replay(system, 'roster-other-muted.json', ids(call), headers('', ''));
    expect((await roster()).participants[OTHER]?.muted).toBe(true);
    await replay(system, 'roster-initial.json', ids(call), headers('', ''));
    expect((await roster()).participants[OTHER]?.muted).toBe(false);
  });

  it('an operation notification changes nothing; the end keeps its code and who was there', async () => {
    const before = await contextOf(system, call.id);
    await replay(system, 'operation-update-recording-status.json', ids(call));
    expect((await contextOf(system, call.id)).version).toBe(before.version);
    await replay(system, 'terminating.json', ids(call));
    await replay(system, 'terminated-conversation-ended.json', ids(call));
    const ended = await callReaches(system, call.id, 'terminated');
    expect(ended.snapshot.context.resultInfo).toEqual({
      code: 200,
      subcode: 5001,
      message: 'The conversation has ended.',
    });
    const record = (await system.core.runtime.getRecord(call.id))!;
    const endedAt = ended.snapshot.context.endedAt!;
    expect(record.participants.map((p) => p.id).sort()).toEqual(
      [
        RECORDED,
        OTHER,
        RECORDER,
        BOT,
        BOT2,
        GUEST,
        PHONE,
        LOBBY,
        BOT,
        BOT2,
        GUEST,
        PHONE,
        LOBBY,
      ].sort(),
    );
    for (const p of record.participants) {
      expect(p.leftAt).toBeDefined();
      expect(p.leftAt!).toBeLessThanOrEqual(endedAt);
    }
    expect(record.participants.find((p) => p.id === OTHER)).toMatchObject({ leftAt: endedAt });
  });
});

describe('a meeting replayed from the corpus (delta rosters)', () => {
  let system: System;
  let call: SimCall;
  beforeAll(async () => {
    system = await startSystem({ name: 'corpus-delta', env: { ROSTER_MODE: 'delta' } });
    call = await placeEstablished(system, { kind: 'meeting', initialRoster: false });
  });
  afterAll(() => system?.close());

  const roster = async () => (await contextOf(system, call.id)).context.roster;

  it('mute, unmute, mute and a guest who leaves and comes back, all applied', async () => {
    await replay(system, 'roster-initial.json', ids(call));
    await replay(system, 'delta-other-muted.json', ids(call));
    await replay(system, 'delta-other-unmuted.json', ids(call));
    await replay(system, 'delta-other-muted.json', ids(call));
    expect((await roster()).participants[OTHER]?.muted).toBe(true);
    await replay(system, 'delta-guest-joined.json', ids(call));
    await replay(system, 'delta-guest-left.json', ids(call));
    expect((await roster()).participants[GUEST]).toBeUndefined();
    await replay(system, 'delta-guest-joined.json', ids(call));
    const r = await roster();
    expect(r.participants[GUEST]).toMatchObject({ kind: 'guest' });
    expect(r.history.filter((s) => s.id === GUEST).map((s) => s.leftAt === undefined)).toEqual([
      false,
      true,
    ]);
  });

  it('ends with the keep-alive expiry code given as strings', async () => {
    await replay(system, 'terminated-keepalive-expired.json', ids(call));
    const ended = await callReaches(system, call.id, 'terminated');
    expect(ended.snapshot.context.resultInfo).toMatchObject({ code: 408, subcode: 8537 });
  });
});
