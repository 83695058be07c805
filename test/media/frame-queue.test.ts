/**
 * The queue between a media socket and its recording: frames received before the socket was
 * lost are written when the session closes the queue, even when the recording was still being
 * opened as the socket went (a busy disk). Real recording on disk, read back from its manifest.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameQueue, type FrameQueueDeps } from '../../src/media/frame-queue.js';
import { openRecording } from '../../src/media/recording/index.js';
import { manifestOf } from '../helpers/recordings.js';
import { MediaTelemetry } from '../../src/media/telemetry.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'frame-queue-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A socket that is never paused (the queue only pauses and resumes it). */
const socket = {
  pause: () => socket,
  resume: () => socket,
  isPaused: () => false,
} as unknown as FrameQueueDeps['socket'];
const frame = (timestamp: number) =>
  ({
    type: 'audio',
    kind: 'mixed',
    sourceId: 0,
    timestamp,
    silence: false,
    pcm: Buffer.alloc(640, 7),
  }) as const;

describe('FrameQueue', () => {
  it('writes what it received before the session stopped streaming when it is closed', async () => {
    let streaming = true;
    let opened!: () => void;
    const openGate = new Promise<void>((resolve) => (opened = resolve));
    const errors: unknown[] = [];
    const queue = new FrameQueue({
      socket,
      // the disk is slow: the recording opens only after the socket was lost
      openRecording: async () => {
        await openGate;
        return openRecording({ rootDir: root, callId: 'lost-1', fsync: false });
      },
      writing: () => streaming,
      onWriteError: (error) => errors.push(error),
      telemetry: new MediaTelemetry(),
    });
    const start = 1_700_000_000_000;
    for (let i = 0; i < 10; i += 1) queue.push(frame(start + i * 20));
    streaming = false; // the socket closed: the session is no longer streaming
    const closed = queue.close();
    opened();
    await closed;
    expect(errors).toEqual([]);
    const segments = (await manifestOf(join(root, 'lost-1'))).filter((e) => e.type === 'segment');
    expect(segments).toHaveLength(1);
    expect(segments[0]).toMatchObject({ startTimestamp: start, endTimestamp: start + 200 });
  });

  it('still drops what arrives for a session that stopped streaming while it is open', async () => {
    let streaming = true;
    const queue = new FrameQueue({
      socket,
      openRecording: () => openRecording({ rootDir: root, callId: 'stopped-1', fsync: false }),
      writing: () => streaming,
      onWriteError: () => undefined,
      telemetry: new MediaTelemetry(),
    });
    streaming = false;
    queue.push(frame(1_700_000_000_000));
    await queue.flush();
    expect(queue.recording).toBeUndefined(); // nothing opened, nothing written
  });
});
