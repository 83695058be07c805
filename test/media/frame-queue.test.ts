/**
 * The queue between a media socket and its recording: frames received before the socket was
 * lost are written when the session closes the queue, even when the recording was still being
 * opened as the socket went (a busy disk); frames are written in order, each counted once as
 * written, late or dropped. Real recording on disk, read back from its manifest; one stand-in
 * recording whose disk fails on cue.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameQueue, type FrameQueueDeps } from '../../src/media/frame-queue.js';
import { openRecording, type Recording } from '../../src/media/recording/index.js';
import { manifestOf } from '../helpers/recordings.js';
import { MediaTelemetry, type DropReason } from '../../src/media/telemetry.js';

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

/** Telemetry that keeps its counts. */
class CountingTelemetry extends MediaTelemetry {
  writtenFrames = 0;
  droppedFrames: Partial<Record<DropReason, number>> = {};
  override written(frames: number): void {
    this.writtenFrames += frames;
  }
  override dropped(reason: DropReason, frames = 1): void {
    if (frames > 0) this.droppedFrames[reason] = (this.droppedFrames[reason] ?? 0) + frames;
  }
}

describe('FrameQueue', () => {
  it('writes frames in order and counts each once, segments sealed on the way', async () => {
    const telemetry = new CountingTelemetry();
    const queue = new FrameQueue({
      socket,
      openRecording: () => openRecording({ rootDir: root, callId: 'order-1', fsync: false }),
      writing: () => true,
      onWriteError: (error) => {
        throw error;
      },
      telemetry,
    });
    const start = 1_700_000_000_000;
    queue.push(frame(start)); // opens the recording: queued
    await queue.flush();
    // 249 more in one go: every 100th frame seals a segment (2 s); 3 repeats of a slot
    // already taken are late
    for (let i = 1; i < 250; i += 1) {
      queue.push(frame(start + i * 20));
      if (i % 80 === 0) queue.push(frame(start + (i - 1) * 20));
    }
    await queue.close();
    expect(telemetry.writtenFrames).toBe(250);
    expect(telemetry.droppedFrames).toEqual({ late: 3 });
    const segments = (await manifestOf(join(root, 'order-1'))).filter((e) => e.type === 'segment');
    expect(segments.map((s) => [s.startTimestamp, s.endTimestamp])).toEqual([
      [start, start + 2000],
      [start + 2000, start + 4000],
      [start + 4000, start + 5000],
    ]);
  });

  it('reports a failed write once and drops that frame and those queued behind it', async () => {
    const telemetry = new CountingTelemetry();
    const errors: unknown[] = [];
    let writes = 0;
    // a recording whose 5th frame sets off a write to disk that fails
    const recording = {
      stats: { framesWritten: 0, framesDroppedLate: 0, bytesWritten: 0, segmentsSealed: 0 },
      writeAudio: () => {
        writes += 1;
        return writes === 5 ? Promise.reject(new Error('ENOSPC')) : Promise.resolve();
      },
      close: () => Promise.resolve(),
    } as unknown as Recording;
    const queue = new FrameQueue({
      socket,
      openRecording: () => Promise.resolve(recording),
      writing: () => true,
      onWriteError: (error) => errors.push(error),
      telemetry,
    });
    const start = 1_700_000_000_000;
    queue.push(frame(start));
    await queue.flush();
    for (let i = 1; i < 8; i += 1) queue.push(frame(start + i * 20));
    await queue.flush();
    expect(errors).toEqual([new Error('ENOSPC')]);
    // frames 1-4 written (the first opened the recording), the 5th failed, 6-8 were queued
    expect(telemetry.writtenFrames).toBe(4);
    expect(telemetry.droppedFrames).toEqual({ 'write-error': 4 });
    expect(writes).toBe(5);
  });

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
