/**
 * The call lifecycle end to end through the simulator on a compressed clock: recording status as
 * compliance requires it, keep-alive, media-arrival timeout, roster, every end path with its
 * result code, bot hang-up, and compact records after the call expired.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { callKeys, queuePrefix } from '../../src/redis/keys.js';
import { stateName } from '../../src/calls/runtime.js';
import type { PlaceCallOptions } from '@cr-orchestrator/teams-simulator';
import { plainRedis } from '../helpers/redis.js';
import {
  callReaches,
  eventually,
  placeEstablished,
  startSystem,
  type System,
} from '../helpers/system.js';

const ADMIN_TOKEN = 'test-admin-token-0123456789';
let system: System;
let redis: Redis;

beforeAll(async () => {
  system = await startSystem({
    name: 'lifecycle',
    env: {
      KEEPALIVE_INTERVAL_MS: '300',
      MEDIA_ARRIVAL_TIMEOUT_MS: '1500',
      EFFECT_BUDGET_MS: '3000',
      CALL_RETENTION_MS: '1000',
      ADMIN_TOKEN,
    },
    // Teams ends a call after 8 intervals without a keep-alive here: a worker stalled for a
    // second or two by a loaded machine must not end calls the test did not mean to end
    sim: { keepAliveTimeoutMs: 2400 },
  });
  redis = plainRedis();
});
afterAll(async () => {
  await redis?.quit();
  await system?.close();
});

const flowing = (callId: string) =>
  system.core.runtime.applyEvent(callId, { type: 'MEDIA.FLOWING', at: Date.now() });
const persistFlag = async (callId: string) =>
  redis.hget(callKeys(system.prefix, callId).call, 'persist');
const admin = (path: string, method = 'GET') =>
  fetch(`${system.ingress.url}/admin/api${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });

const establishedCall = (opts?: PlaceCallOptions) => placeEstablished(system, opts);

describe('recording status (docs/teams-protocol.md#recording-status)', () => {
  it('reports recording once media flows, and allows persisting only after Graph confirmed it', async () => {
    const call = await establishedCall();
    expect(await persistFlag(call.id)).toBe('0');
    await flowing(call.id);
    const state = await callReaches(system, call.id, 'recording');
    expect(await persistFlag(call.id)).toBe('1');
    const accepted = call.recordingStatusUpdates.filter(
      (u) => u.status === 'recording' && u.accepted,
    );
    expect(accepted).toHaveLength(1);
    // the call's own confirmation time is after Teams accepted the status, never before
    expect(state.snapshot.context.recording.confirmedAt).toBeGreaterThanOrEqual(
      call.recordingConfirmedAt!,
    );
    expect(state.snapshot.context.recording.reports).toEqual([
      expect.objectContaining({ status: 'recording', ok: true }),
    ]);
  });

  it('a media fault stops persisting and reports failed', async () => {
    const call = await establishedCall();
    await flowing(call.id);
    await callReaches(system, call.id, 'recording');
    await system.core.runtime.applyEvent(call.id, {
      type: 'MEDIA.FAULT',
      at: Date.now(),
      reason: 'socket lost',
    });
    expect(await persistFlag(call.id)).toBe('0');
    await eventually(() =>
      call.recordingStatusUpdates.some((u) => u.status === 'failed' && u.accepted)
        ? true
        : undefined,
    );
    const state = await callReaches(system, call.id, 'recordingFailed');
    expect(state.snapshot.context.media.lastFault).toBe('socket lost');
  });

  it('reports failed when no media arrives in time', async () => {
    const call = await establishedCall();
    await eventually(
      () =>
        call.recordingStatusUpdates.some((u) => u.status === 'failed' && u.accepted)
          ? true
          : undefined,
      6000,
      'a failed report',
    );
    expect(call.recordingStatusUpdates.some((u) => u.status === 'recording')).toBe(false);
    expect(await persistFlag(call.id)).toBe('0');
  });

  it('a non-compliance call (8506) is final: not retried, recording reported failed', async () => {
    const call = await establishedCall({ complianceRecording: false });
    await flowing(call.id);
    const state = await callReaches(system, call.id, 'recordingFailed');
    expect(state.snapshot.context.recording.persist).toBe(false);
    await eventually(() => (call.recordingStatusUpdates.length >= 2 ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    // one refused `recording`, one refused `failed`: 4xx answers are final, never retried
    expect(call.recordingStatusUpdates.map((u) => [u.status, u.accepted])).toEqual([
      ['recording', false],
      ['failed', false],
    ]);
    const reports = (await system.core.runtime.getCall(call.id))!.snapshot.context.recording
      .reports;
    expect(reports[0]).toMatchObject({
      status: 'recording',
      ok: false,
      detail: expect.stringMatching(/8506/) as unknown,
    });
  });
});

describe('keep-alive (durable timers on a compressed clock)', () => {
  it('keeps the call alive past the platform timeout', async () => {
    const call = await establishedCall();
    await new Promise((r) => setTimeout(r, 2000)); // > the simulator's 1200 ms expiry
    expect(call.state).toBe('established');
    expect(call.keepAlives.length).toBeGreaterThanOrEqual(3);
    const ctx = (await system.core.runtime.getCall(call.id))!.snapshot.context;
    expect(ctx.keepAlive.sent).toBeGreaterThanOrEqual(3);
    expect(ctx.keepAlive.lastOkAt).toBeDefined();
    // finished jobs are not kept; the ids of the answer and the recording status are (BullMQ's
    // deduplication keys), so that re-driving them is a no-op; those of timers and keep-alives
    // are not (repeating them is harmless)
    const { graph, timers } = system.core.queues;
    const finished = [
      ...(await timers.getJobs(['completed'])),
      ...(await graph.getJobs(['completed'])),
    ];
    expect(finished.filter((j) => j.id?.startsWith(`${call.id}-`))).toEqual([]);
    const remembered = await redis.keys(`${queuePrefix(system.prefix)}:*:de:${call.id}-*`);
    const ops = remembered.map((k) => k.slice(k.indexOf(call.id) + call.id.length + 1));
    // (no media comes: the recording status sent is `failed`)
    expect(ops.map((op) => op.replace(/-g\d+$/, '')).sort()).toEqual([
      'answer',
      'recording-failed',
    ]);
  });

  it('keepAlives answered 404 (call gone, no end notification) end the call and stop the timer', async () => {
    const call = await establishedCall();
    system.sim.addFault({
      route: 'keepAlive',
      status: 404,
      code: '8522',
      callId: call.id,
      times: 20,
    });
    // the first 404: waiting for the end notification; a 404 three intervals later: over
    await callReaches(system, call.id, 'terminating', 5000);
    const state = await callReaches(system, call.id, 'terminated', 5000);
    expect(state.snapshot.context.endedBy).toBe('platform');
    const sent = call.keepAlives.length;
    await new Promise((r) => setTimeout(r, 800));
    expect(call.keepAlives.length).toBe(sent);
  });
});

describe('roster (docs/teams-protocol.md#roster)', () => {
  it('keeps participants, identities, mute/lobby and the source → participant map', async () => {
    const call = await establishedCall({ kind: 'meeting' });
    await eventually(async () => {
      const c = await system.core.runtime.getCall(call.id);
      return Object.keys(c!.snapshot.context.roster.participants).length ===
        call.participants.length
        ? true
        : undefined;
    });
    const guest = await call.addParticipant({ kind: 'guest', displayName: 'Visitor', video: true });
    const phone = await call.addParticipant({ kind: 'phone', phoneNumber: '+441234567890' });
    await call.setMuted(guest.id, true);
    await call.setInLobby(phone.id, true);
    const roster = (await system.core.runtime.getCall(call.id))!.snapshot.context.roster;
    expect(roster.participants[guest.id]).toMatchObject({
      kind: 'guest',
      muted: true,
      inLobby: false,
    });
    expect(roster.participants[phone.id]).toMatchObject({ kind: 'phone', inLobby: true });
    for (const p of call.participants) {
      for (const stream of p.mediaStreams) {
        expect(roster.sources[stream.sourceId]).toBe(p.id);
      }
    }
    expect(JSON.stringify(roster)).not.toContain('Visitor'); // names are not kept
    await call.removeParticipant(guest.id);
    const after = (await system.core.runtime.getCall(call.id))!.snapshot.context.roster;
    expect(after.participants[guest.id]).toBeUndefined();
    expect(Object.values(after.sources)).not.toContain(guest.id);
  });
});

describe('terminations keep their result code', () => {
  it('a remote hang-up: 200/4097, the user was recorded', async () => {
    const call = await establishedCall();
    await call.hangUp();
    const state = await callReaches(system, call.id, 'terminated');
    expect(state.snapshot.context.resultInfo).toMatchObject({ code: 200, subcode: 4097 });
    expect(state.snapshot.context.endedBy).toBe('remote');
    expect(call.userOutcome).toBe('recorded');
  });

  it('a media failure: 410/301005 by the platform, and the user call is cancelled (RequiredDuringCall)', async () => {
    const call = await establishedCall();
    await call.failMedia();
    const state = await callReaches(system, call.id, 'terminated');
    expect(state.snapshot.context.resultInfo).toMatchObject({ code: 410, subcode: 301005 });
    expect(state.snapshot.context.endedBy).toBe('platform');
    expect(call.userOutcome).toBe('callCancelled');
  });

  it('keep-alive expiry while no worker runs: 408/8537', async () => {
    const call = await establishedCall();
    await system.workers!.workers[0]!.pause(); // the graph worker stops sending keepAlives
    try {
      const state = await callReaches(system, call.id, 'terminated', 6000);
      expect(state.snapshot.context.resultInfo).toMatchObject({ code: 408, subcode: 8537 });
    } finally {
      await system.workers!.workers[0]!.resume();
    }
  });

  it('a bot hang-up stops recording, reports notRecording before DELETE, ends 200/7000', async () => {
    const call = await establishedCall({ policy: { requiredDuringCall: false } });
    await flowing(call.id);
    await callReaches(system, call.id, 'recording');
    const res = await admin(`/calls/${call.id}/hangup`, 'POST');
    expect(res.status).toBe(202);
    // no media process here: the test confirms the stop as one would, once it is asked for
    const stopping = await callReaches(system, call.id, 'stoppingMedia');
    expect(await persistFlag(call.id)).toBe('0');
    await new Promise((r) => setTimeout(r, 300));
    expect(call.recordingStatusUpdates.some((u) => u.status === 'notRecording')).toBe(false);
    const { gen } = stopping.snapshot.context.recording.stop!;
    await system.core.runtime.applyEvent(call.id, { type: 'MEDIA.STOPPED', at: Date.now(), gen });
    const state = await callReaches(system, call.id, 'terminated');
    expect(state.snapshot.context.endedBy).toBe('bot');
    expect(state.snapshot.context.resultInfo).toMatchObject({ code: 200, subcode: 7000 });
    const notRecording = call.recordingStatusUpdates.find(
      (u) => u.status === 'notRecording' && u.accepted,
    );
    const del = system.sim.requests.find((r) => r.route === 'delete' && r.callId === call.id);
    expect(notRecording!.at).toBeLessThanOrEqual(del!.at);
    expect(call.userOutcome).toBe('proceedsUnrecorded');
    expect((await admin(`/calls/${call.id}/hangup`, 'POST')).status).toBe(409);
  });

  it('a finished call expires from Redis; its compact record stays queryable', async () => {
    const call = await establishedCall();
    await call.hangUp();
    await callReaches(system, call.id, 'terminated');
    await eventually(
      async () =>
        (await redis.exists(callKeys(system.prefix, call.id).call)) === 0 ? true : undefined,
      4000,
    );
    expect(await system.core.runtime.getCall(call.id)).toBeUndefined();
    const res = await admin(`/calls/${call.id}`);
    expect(res.status).toBe(200);
    const record = (await res.json()) as Record<string, unknown>;
    expect(record).toMatchObject({
      callId: call.id,
      state: 'terminated',
      live: false,
      failed: false,
    });
    expect((record.history as Array<{ to: string }>).at(-1)?.to).toBe('terminated');
    expect(record).not.toHaveProperty('roster');
  });

  it('admin routes need the bearer token', async () => {
    const res = await fetch(`${system.ingress.url}/admin/api/calls/whatever`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'unauthorized' });
    expect((await admin('/calls/no-such-call')).status).toBe(404);
  });
});

describe('Graph 4xx answers are final (docs/teams-protocol.md#errors-and-retries)', () => {
  it('an answer refused with 8522 fails the call at once, without retries', async () => {
    const callId = `gone-${Date.now()}`;
    system.sim.addFault({ route: 'answer', status: 404, code: '8522', callId, times: 1 });
    await system.sim.placeCall({ kind: 'p2p', callId });
    const state = await callReaches(system, callId, 'failed', 4000);
    expect(state.snapshot.context.failure).toMatchObject({
      reason: 'answer-refused',
      detail: expect.stringMatching(/8522/) as unknown,
    });
    expect(
      system.sim.requests.filter((r) => r.route === 'answer' && r.callId === callId),
    ).toHaveLength(1);
    expect(stateName(state.snapshot)).toBe('failed');
  });
});

describe('delta rosters (ROSTER_MODE=delta)', () => {
  let delta: System;
  beforeAll(async () => {
    delta = await startSystem({ name: 'delta', env: { ROSTER_MODE: 'delta' } });
  });
  afterAll(async () => {
    await delta?.close();
  });

  it('asks Teams for delta rosters and applies additions, changes and removals', async () => {
    const call = await delta.sim.placeCall({ kind: 'meeting', rosterMode: 'delta' });
    await call.waitFor('established', 8000);
    expect(call.answer!.body).toMatchObject({ callOptions: { isDeltaRosterEnabled: true } });
    const guest = await call.addParticipant({ kind: 'guest', displayName: 'G' });
    await call.setMuted(guest.id, true);
    const first = call.participants.find((p) => p.id !== guest.id)!;
    await call.removeParticipant(first.id);
    const roster = (await delta.core.runtime.getCall(call.id))!.snapshot.context.roster;
    expect(Object.keys(roster.participants).sort()).toEqual(
      call.participants.map((p) => p.id).sort(),
    );
    expect(roster.participants[guest.id]?.muted).toBe(true);
    expect(roster.participants[first.id]).toBeUndefined();
  });
});
