/**
 * Media end to end over real TLS sockets and real files: the simulator's media peer streams
 * a call to the media process, which records it only after Teams confirmed `recording`.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaCredentials } from '../../src/media/credentials.js';
import { verifyRecording } from '../../src/media/recording/index.js';
import type { SimCall } from '@cr-orchestrator/teams-simulator';
import { ATTR, METRIC } from '../../src/telemetry/index.js';
import { hello as helloAt } from '../helpers/media.js';
import { callReaches, eventually, startSystem, type System } from '../helpers/system.js';
import { manifestOf, wavData } from '../helpers/recordings.js';

let system: System;

beforeAll(async () => {
  system = await startSystem({
    name: 'media',
    media: { inProcess: true },
    // the answer accepts video, so the media process records it
    env: { ACCEPTED_MODALITIES: 'audio,video' },
    sim: { media: { enabled: true, paceMs: 10, video: true } },
  });
});
afterAll(async () => {
  await system?.close();
});

const recordingDir = (callId: string) => join(system.config.recordingsDir, callId);

async function recordingCall(
  opts: Parameters<System['sim']['placeCall']>[0] = {},
): Promise<SimCall> {
  const call = await system.sim.placeCall({ kind: 'meeting', ...opts });
  await call.waitFor('established', 8000);
  await callReaches(system, call.id, 'recording', 8000);
  return call;
}

const hello = (credential: string, callId: string) =>
  helloAt(system.config.mediaPort, credential, callId);

describe('recording a call', () => {
  it('writes nothing before Teams confirmed recording, then records every speaker byte-exact and time-aligned', async () => {
    const callId = `media-${Date.now()}`;
    // Teams is slow to confirm: the first updateRecordingStatus gets a 503, retried after 1 s
    system.sim.addFault({
      route: 'updateRecordingStatus',
      status: 503,
      retryAfter: '1',
      callId,
      times: 1,
    });
    const call = await system.sim.placeCall({ kind: 'meeting', callId });
    await call.waitFor('established', 8000);
    await callReaches(system, callId, 'startingRecording', 8000);
    await eventually(async () =>
      (await system.metrics.value(METRIC.framesDropped, {
        [ATTR.dropReason]: 'before-confirmation',
      })) > 20
        ? true
        : undefined,
    );
    expect(existsSync(recordingDir(callId))).toBe(false); // not a byte on disk yet
    await callReaches(system, callId, 'recording', 8000);
    const confirmedAt = call.recordingConfirmedAt!;

    await new Promise((r) => setTimeout(r, 2500)); // ~5 s of media at paceMs 10
    await call.hangUp();
    const manifest = await eventually(
      async () => {
        const entries = await manifestOf(recordingDir(callId)).catch(() => undefined);
        return entries?.some((e) => e.type === 'finalized') ? entries : undefined;
      },
      10_000,
      'the recording to be finalized',
    );

    const open = manifest.find((e) => e.type === 'open')!;
    expect(open.at as number).toBeGreaterThanOrEqual(confirmedAt);
    const start = manifest.find((e) => e.type === 'finalized')!.startTimestamp as number;
    const sent = call.media!.sent;
    const speakers = [...sent.keys()].filter((t) => t.startsWith('src-'));
    expect(speakers.length).toBeGreaterThanOrEqual(2);
    for (const [track, frames] of sent) {
      const written = manifest.filter((e) => e.type === 'segment' && e.track === track);
      const firstWritten = Math.min(...written.map((e) => e.startTimestamp as number));
      const wav = await wavData(join(recordingDir(callId), 'final', `${track}.wav`));
      let compared = 0;
      for (const f of frames.filter((fr) => fr.timestamp >= firstWritten)) {
        const offset = ((f.timestamp - start) / 20) * 640;
        const expected = f.pcm ?? Buffer.alloc(640);
        expect(
          wav.subarray(offset, offset + 640).equals(expected),
          `${track} @${f.timestamp}`,
        ).toBe(true);
        compared += 1;
      }
      expect(compared, track).toBeGreaterThan(100);
    }
    // video: one H.264 elementary stream per source, the access units written in order
    for (const [source, units] of call.media!.videoSent) {
      const firstVideo = Math.min(
        ...manifest
          .filter((e) => e.type === 'segment' && e.track === source)
          .map((e) => e.startTimestamp as number),
      );
      const expected = Buffer.concat(
        units.filter((u) => u.timestamp >= firstVideo).map((u) => u.data),
      );
      const stream = await readFile(join(recordingDir(callId), 'final', `video-${source}.h264`));
      expect(stream.equals(expected), `video ${source}`).toBe(true);
    }
    expect((await verifyRecording(recordingDir(callId))).ok).toBe(true);
    await callReaches(system, callId, 'terminated');
  }, 40_000);
});

describe('hostile peers are refused without harming other calls', () => {
  it('forged, expired, wrong-call and reused credentials, plaintext, a slow handshake and garbage', async () => {
    const good = await recordingCall();
    const other = await recordingCall();
    const blob = good.media!.blob!;
    const credentials = new MediaCredentials(system.config.mediaCredentialSecret);
    const writtenBefore = await system.metrics.value(METRIC.framesWritten);

    const forged = `${blob.credential.slice(0, -2)}AA`;
    expect(await hello(forged, good.id)).toMatchObject({ type: 'refuse', reason: 'bad-signature' });
    const expired = credentials.mintCall(good.id, Date.now() - 600_000);
    expect(await hello(expired, good.id)).toMatchObject({ type: 'refuse', reason: 'expired' });
    expect(await hello(credentials.mintCall('another-call', Date.now()), good.id)).toMatchObject({
      type: 'refuse',
      reason: 'wrong-call',
    });
    expect(await good.media!.reuseCredential()).toBe('reused');
    expect(await good.media!.connectPlaintext()).not.toBe('accepted');
    expect(await good.media!.slowHandshake(3000)).toBe('closed');
    other.media!.sendGarbage();
    await eventually(async () =>
      (await system.metrics.value(METRIC.mediaProtocolErrors)) > 0 ? true : undefined,
    );

    const refused = await system.metrics.by(METRIC.mediaRefused, ATTR.refusal);
    const closed = await system.metrics.by(METRIC.mediaConnectionsClosed, ATTR.closeReason);
    expect(refused).toMatchObject({ 'bad-signature': 1, expired: 1, 'wrong-call': 1, reused: 1 });
    // TLS failures (plaintext, the slow handshake) close the connection before any session
    expect((closed['tls-error'] ?? 0) + (refused['handshake-timeout'] ?? 0)).toBeGreaterThanOrEqual(
      2,
    );
    // the good call never stopped recording
    await eventually(async () =>
      (await system.metrics.value(METRIC.framesWritten)) > writtenBefore + 200 ? true : undefined,
    );
    const state = await system.core.runtime.getCall(good.id);
    expect(state?.snapshot.context.recording.persist).toBe(true);
    expect(good.media!.state).toBe('streaming');
    await Promise.all([good.hangUp(), other.hangUp()]);
  }, 40_000);
});

describe('a full disk', () => {
  it('makes the call report failed instead of pretending to record', async () => {
    const callId = `full-${Date.now()}`;
    await mkdir(join(recordingDir(callId), 'tracks', 'mixed'), { recursive: true });
    await symlink('/dev/full', join(recordingDir(callId), 'tracks', 'mixed', '000001.pcm'));
    const call = await system.sim.placeCall({ kind: 'p2p', callId });
    await call.waitFor('established', 8000);
    const failed = await callReaches(system, callId, 'recordingFailed', 15_000);
    expect(failed.snapshot.context.media.lastFault).toBe('disk full');
    expect(failed.snapshot.context.recording.persist).toBe(false);
    await eventually(() =>
      call.recordingStatusUpdates.some((u) => u.status === 'failed' && u.accepted)
        ? true
        : undefined,
    );
    expect(await system.metrics.value(METRIC.mediaWriteErrors)).toBeGreaterThan(0);
    const manifestText = await readFile(join(recordingDir(callId), 'manifest.jsonl'), 'utf8').catch(
      () => '',
    );
    expect(manifestText).not.toMatch(/"track":"mixed"/); // no mixed segment claimed as written
    await call.hangUp().catch(() => undefined);
  }, 30_000);
});
