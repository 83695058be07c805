/**
 * Recording stops before Teams is told it stopped. An independent media peer streams frames
 * whose samples carry their index, and switches to a second pattern the moment the simulator's
 * Graph receives `updateRecordingStatus(notRecording | failed)`: the recording's bytes must hold
 * none of it. The order "the media process stopped, then Graph was told" is read from the
 * simulator's ledger and the call's own history, with timestamps.
 */
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaCredentials } from '../../src/media/credentials.js';
import type { SimCall } from '@cr-orchestrator/teams-simulator';
import { freePort } from '../../src/dev/local-redis.js';
import { PatternPeer, patternsIn } from '../helpers/pattern-peer.js';
import { killAll, listening, startMediaProcess } from '../helpers/role-process.js';
import { manifestOf, wavData } from '../helpers/recordings.js';
import {
  callReaches,
  eventually,
  placeEstablished,
  startSystem,
  type System,
} from '../helpers/system.js';

const ADMIN_TOKEN = 'test-admin-token-recording-stop';
let system: System;
const children: ChildProcess[] = [];

beforeAll(async () => {
  system = await startSystem({
    name: 'recording-stop',
    media: { inProcess: true },
    env: { ADMIN_TOKEN, MEDIA_STOP_TIMEOUT_MS: '3000', EFFECT_BUDGET_MS: '3000' },
  });
});
afterAll(async () => {
  await killAll(children);
  await system?.close();
});

const dirOf = (callId: string) => join(system.config.recordingsDir, callId);
const STOP_STATUSES = new Set(['notRecording', 'failed']);
/** Graph received a stop (accepted or not): the peer switches to pattern B from here. */
const stopReceived = (call: SimCall) =>
  call.recordingStatusUpdates.find((u) => STOP_STATUSES.has(u.status));

/** A call with our own peer streaming pattern A into it (to the in-process media role). */
async function streamingCall(
  opts: { complianceRecording?: boolean } = {},
  port = system.config.mediaPort,
  switched?: () => boolean,
) {
  const call = await placeEstablished(system, opts);
  const peer = new PatternPeer(port, call.id, switched ?? (() => !!stopReceived(call)));
  const credential = new MediaCredentials(system.config.mediaCredentialSecret).mintCall(
    call.id,
    Date.now(),
  );
  expect((await peer.start({ credential })).type).toBe('welcome');
  return { call, peer };
}

const hangUp = (callId: string) =>
  fetch(`${system.ingress.url}/admin/api/calls/${callId}/hangup`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });

/** The patterns in every audio byte the recording holds: raw segments and final WAVs. */
async function recordedPatterns(callId: string): Promise<{ A: number; B: number }> {
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(dir, e.name));
      else if (e.name.endsWith('.pcm') || e.name.endsWith('.wav')) files.push(join(dir, e.name));
    }
  };
  await walk(dirOf(callId));
  const total = { A: 0, B: 0 };
  for (const f of files) {
    const seen = patternsIn(f.endsWith('.wav') ? await wavData(f) : await readFile(f));
    total.A += seen.A;
    total.B += seen.B;
  }
  return total;
}

/** Keeps the peer sending pattern B for `frames` frames after the switch, then ends it. */
async function keepSendingB(peer: PatternPeer, frames = 50): Promise<void> {
  await eventually(() => (peer.count('B') >= frames ? true : undefined), 5000, 'B frames sent');
  peer.stop('end');
}

async function finalWav(callId: string): Promise<Buffer> {
  await eventually(
    async () =>
      (await manifestOf(dirOf(callId)).catch(() => [])).some((e) => e.type === 'finalized')
        ? true
        : undefined,
    8000,
    'the recording to be finalized',
  );
  return wavData(join(dirOf(callId), 'final', 'mixed.wav'));
}

describe('nothing sent after Teams was told the recording stopped is kept', () => {
  it('an operator hang-up: stop confirmed by the media process, then notRecording, then DELETE', async () => {
    const { call, peer } = await streamingCall();
    await callReaches(system, call.id, 'recording');
    await eventually(() => (peer.count('A') > 60 ? true : undefined), 5000, 'A frames');
    expect((await hangUp(call.id)).status).toBe(202);
    await eventually(() => stopReceived(call), 8000, 'notRecording at Graph');
    await keepSendingB(peer);

    const wav = await finalWav(call.id);
    const inWav = patternsIn(wav);
    expect(inWav.A).toBeGreaterThan(30); // the call was recorded …
    expect(inWav.B).toBe(0); // … and not one frame after the report
    expect((await recordedPatterns(call.id)).B).toBe(0);

    const report = stopReceived(call)!;
    expect(report).toMatchObject({ status: 'notRecording', accepted: true });
    const state = await callReaches(system, call.id, 'terminated');
    const { stop } = state.snapshot.context.recording;
    // stopped, then reported: the media process confirmed before Graph got the report …
    expect(stop?.confirmedAt).toBeDefined();
    expect(stop!.at).toBeLessThanOrEqual(stop!.confirmedAt!);
    expect(stop!.confirmedAt!).toBeLessThanOrEqual(report.at);
    // … and every frame written was sent before the report
    const written = new Set(wav.length ? collectIndexes(wav) : []);
    const lastWritten = peer.sent.filter((f) => written.has(f.index)).at(-1)!;
    expect(lastWritten.sentAt).toBeLessThanOrEqual(report.at);
    // the hang-up came after the report
    const trail = state.snapshot.context.trail.map(([s]) => s);
    expect(trail.slice(-2)).toEqual(['ending', 'terminated']);
    expect(call.result).toMatchObject({ code: 200 });
  }, 30_000);

  it('a refused notRecording report: the stop still came first', async () => {
    const { call, peer } = await streamingCall();
    await callReaches(system, call.id, 'recording');
    await eventually(() => (peer.count('A') > 30 ? true : undefined), 5000, 'A frames');
    system.sim.addFault({ route: 'updateRecordingStatus', status: 400, callId: call.id });
    expect((await hangUp(call.id)).status).toBe(202);
    await eventually(() => stopReceived(call), 8000, 'the report at Graph');
    await keepSendingB(peer);
    expect(stopReceived(call)).toMatchObject({ status: 'notRecording', accepted: false });
    expect(patternsIn(await finalWav(call.id)).B).toBe(0);
    const state = await callReaches(system, call.id, 'terminated');
    expect(state.snapshot.context.recording.reports.at(-1)).toMatchObject({
      status: 'notRecording',
      ok: false,
    });
    expect(state.snapshot.context.recording.stop!.confirmedAt!).toBeLessThanOrEqual(
      stopReceived(call)!.at,
    );
  }, 30_000);

  it('a media fault: failed is reported once the session is over, and it cannot be resumed', async () => {
    const { call, peer } = await streamingCall();
    await callReaches(system, call.id, 'recording');
    await eventually(() => (peer.count('A') > 30 ? true : undefined), 5000, 'A frames');
    const resume = peer.welcome!.resume;
    peer.stop('drop'); // lost; nobody resumes within the window → MEDIA.FAULT → failed
    await eventually(() => stopReceived(call), 10_000, 'failed at Graph');
    expect(stopReceived(call)).toMatchObject({ status: 'failed', accepted: true });
    const late = new PatternPeer(system.config.mediaPort, call.id, () => true);
    expect(await late.start({ resume })).toMatchObject({ type: 'refuse', reason: 'ended' });
    const state = await callReaches(system, call.id, 'recordingFailed');
    expect(state.snapshot.context.recording.persist).toBe(false);
    await finalWav(call.id); // the window's end finalizes what was recorded
    const recorded = await recordedPatterns(call.id);
    expect(recorded.A).toBeGreaterThan(0);
    expect(recorded.B).toBe(0);
    await call.hangUp();
  }, 30_000);

  it('8506 (not a compliance-recording call): nothing is ever written', async () => {
    const { call, peer } = await streamingCall({ complianceRecording: false });
    await eventually(() => stopReceived(call), 8000, 'failed at Graph');
    await keepSendingB(peer);
    expect(call.recordingStatusUpdates.map((u) => [u.status, u.httpStatus])).toEqual([
      ['recording', 403],
      ['failed', 403],
    ]);
    expect(peer.count('A')).toBeGreaterThan(0);
    expect(await recordedPatterns(call.id)).toEqual({ A: 0, B: 0 });
    await call.hangUp();
  }, 30_000);

  it('a refused recording report: nothing is ever written', async () => {
    const callId = `refused-${Date.now()}`;
    system.sim.addFault({ route: 'updateRecordingStatus', status: 400, callId, times: 1 });
    const call = await placeEstablished(system, { callId });
    const peer = new PatternPeer(system.config.mediaPort, call.id, () => !!stopReceived(call));
    const credential = new MediaCredentials(system.config.mediaCredentialSecret).mintCall(
      call.id,
      Date.now(),
    );
    await peer.start({ credential });
    await eventually(() => stopReceived(call), 8000, 'failed at Graph');
    await keepSendingB(peer);
    expect(call.recordingStatusUpdates[0]).toMatchObject({ status: 'recording', httpStatus: 400 });
    expect(await recordedPatterns(call.id)).toEqual({ A: 0, B: 0 });
    await call.hangUp();
  }, 30_000);
});

describe('a call the platform ends', () => {
  it('stops persisting with the end: what the peer sends two polls later is not kept', async () => {
    const ended: { at?: number } = {};
    // the peer switches to B 500 ms (over two persist polls) after Teams ended the call
    const afterEnd = () => ended.at !== undefined && Date.now() - ended.at >= 500;
    const { call, peer } = await streamingCall({}, undefined, afterEnd);
    await callReaches(system, call.id, 'recording');
    await eventually(() => (peer.count('A') > 30 ? true : undefined), 5000, 'A frames');
    await call.hangUp();
    ended.at = Date.now();
    await callReaches(system, call.id, 'terminated');
    await keepSendingB(peer);
    expect(patternsIn(await finalWav(call.id)).B).toBe(0);
    const recorded = await recordedPatterns(call.id);
    expect(recorded.A).toBeGreaterThan(0);
    expect(recorded.B).toBe(0);
  }, 30_000);
});

describe('a media process that cannot confirm the stop', () => {
  it('makes the call report failed, never notRecording, then hang up', async () => {
    const port = await freePort();
    const media = startMediaProcess({ ...system.env, MEDIA_PORT: String(port) }, children);
    await listening(port);
    const { call, peer } = await streamingCall({}, port);
    await callReaches(system, call.id, 'recording');
    await eventually(() => (peer.count('A') > 30 ? true : undefined), 5000, 'A frames');
    media.child.kill('SIGSTOP'); // alive, connected, and deaf
    try {
      const asked = Date.now();
      expect((await hangUp(call.id)).status).toBe(202);
      const report = await eventually(() => stopReceived(call), 8000, 'a report at Graph');
      expect(report).toMatchObject({ status: 'failed', accepted: true });
      expect(report.at - asked).toBeGreaterThanOrEqual(3000 - 100); // MEDIA_STOP_TIMEOUT_MS
      const state = await callReaches(system, call.id, 'terminated');
      expect(call.recordingStatusUpdates.map((u) => u.status)).toEqual(['recording', 'failed']);
      expect(state.snapshot.context.recording.stop?.confirmedAt).toBeUndefined();
      expect(state.snapshot.context.trail.map(([s]) => s).slice(-2)).toEqual([
        'ending',
        'terminated',
      ]);
    } finally {
      peer.stop('drop');
      media.child.kill('SIGCONT');
    }
  }, 30_000);
});

/** The frame indexes a WAV of pattern frames holds (A positive, B negative). */
function collectIndexes(wav: Buffer): number[] {
  const out = new Set<number>();
  for (let i = 0; i + 1 < wav.length; i += 640) {
    const v = wav.readInt16LE(i);
    if (v !== 0) out.add(Math.abs(v) - 1);
  }
  return [...out];
}
