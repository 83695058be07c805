/**
 * The media process is killed (SIGKILL) in the middle of a recorded call: at most the segment in
 * flight is lost, the peer resumes on the restarted process with its resume token, the same
 * recording continues, and the manifest lists the gap. Then a graceful SIGTERM drains.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyRecording } from '../../src/media/recording/index.js';
import { killAll, listening, startMediaProcess as spawnMedia } from '../helpers/role-process.js';
import { manifestOf, wavData } from '../helpers/recordings.js';
import { callReaches, eventually, startSystem, type System } from '../helpers/system.js';

let system: System;
const children: ChildProcess[] = [];

const startMediaProcess = () => spawnMedia(system.env, children);
const mediaListening = () => listening(system.config.mediaPort);
const stopAll = () => killAll(children);

beforeAll(async () => {
  system = await startSystem({
    name: 'media-crash',
    media: { inProcess: false },
    env: { MEDIA_RECONNECT_WINDOW_MS: '15000' },
    sim: { media: { enabled: true, paceMs: 20 } },
  });
});
afterAll(async () => {
  await stopAll();
  await system?.close();
});

describe('killing the media process mid-call', () => {
  it('loses at most the segment in flight; the peer resumes on the restarted process', async () => {
    const first = startMediaProcess();
    await mediaListening();
    const call = await system.sim.placeCall({ kind: 'meeting' });
    await call.waitFor('established', 8000);
    await callReaches(system, call.id, 'recording', 8000);
    const dir = join(system.config.recordingsDir, call.id);
    // let a few segments be sealed (2 s of media each)
    await eventually(async () => {
      const entries = await manifestOf(dir).catch(() => []);
      return entries.filter((e) => e.type === 'segment' && e.track === 'mixed').length >= 2
        ? true
        : undefined;
    }, 15_000);

    first.child.kill('SIGKILL');
    await first.exit;
    await new Promise((r) => setTimeout(r, 500));
    startMediaProcess();
    await mediaListening();
    await eventually(
      () => (call.media!.connects >= 2 ? true : undefined),
      15_000,
      'the peer to resume',
    );
    await new Promise((r) => setTimeout(r, 2500)); // keep recording on the new process
    await call.hangUp();

    const manifest = await eventually(
      async () => {
        const entries = await manifestOf(dir).catch(() => undefined);
        return entries?.some((e) => e.type === 'finalized') ? entries : undefined;
      },
      15_000,
      'the recording to be finalized',
    );
    expect(manifest.filter((e) => e.type === 'open').length).toBe(2); // one per process
    const gaps = manifest.filter((e) => e.type === 'gap');
    expect(gaps.length).toBeGreaterThan(0);
    expect((await verifyRecording(dir)).ok).toBe(true);

    // every frame the peer sent is in the recording, except at most one segment's worth per track
    const start = manifest.find((e) => e.type === 'finalized')!.startTimestamp as number;
    for (const [track, frames] of call.media!.sent) {
      const wav = await wavData(join(dir, 'final', `${track}.wav`));
      const firstWritten = Math.min(
        ...manifest
          .filter((e) => e.type === 'segment' && e.track === track)
          .map((e) => e.startTimestamp as number),
      );
      const missing = frames.filter((f) => {
        if (f.timestamp < firstWritten || f.pcm === null) return false;
        const offset = ((f.timestamp - start) / 20) * 640;
        return !wav.subarray(offset, offset + 640).equals(f.pcm);
      });
      expect(missing.length, `${track} lost frames`).toBeLessThanOrEqual(100 + 10);
    }
    // the call never stopped recording as far as Teams knows
    expect(call.recordingStatusUpdates.filter((u) => u.status === 'failed')).toEqual([]);
  }, 90_000);

  it('SIGTERM drains: recordings are sealed and the process exits 0', async () => {
    await stopAll();
    const media = startMediaProcess();
    await mediaListening();
    const call = await system.sim.placeCall({ kind: 'p2p' });
    await call.waitFor('established', 8000);
    await callReaches(system, call.id, 'recording', 8000);
    await new Promise((r) => setTimeout(r, 700));
    media.child.kill('SIGTERM');
    expect(await media.exit).toBe(0);
    const entries = await manifestOf(join(system.config.recordingsDir, call.id));
    expect(entries.some((e) => e.type === 'segment')).toBe(true); // the partial segment was sealed
    expect((await verifyRecording(join(system.config.recordingsDir, call.id))).ok).toBe(true);
    await call.hangUp().catch(() => undefined);
  }, 60_000);
});
