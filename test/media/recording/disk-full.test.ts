/**
 * A full disk is reported, not hidden: the track's next segment path is a symlink to
 * /dev/full, where every write fails with the kernel's real ENOSPC.
 */
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  openRecording,
  RecordingError,
  verifyRecording,
} from '../../../src/media/recording/index.js';
import { frame, manifestLines, T0, useTempRoot } from './helpers.js';

const tmp = useTempRoot();

describe('a recording on a full disk', () => {
  it('rejects the sealing write with ENOSPC and refuses every later write', async () => {
    const rec = await openRecording({ rootDir: tmp.root, callId: 'full', segmentMs: 100 });
    for (let i = 0; i < 5; i++) await rec.writeAudio('mixed', T0 + i * 20, frame(i));
    await mkdir(join(rec.dir, 'tracks/mixed'), { recursive: true });
    await symlink('/dev/full', join(rec.dir, 'tracks/mixed/000002.pcm'));

    for (let i = 5; i < 9; i++) await rec.writeAudio('mixed', T0 + i * 20, frame(i));
    const failed = rec.writeAudio('mixed', T0 + 9 * 20, frame(9)); // completes segment 2
    await expect(failed).rejects.toBeInstanceOf(RecordingError);
    await expect(failed).rejects.toMatchObject({ code: 'ENOSPC' });
    const error = await failed.catch((e: unknown) => e);

    // Every later call gets the same error, on any track, and nothing pretends to succeed.
    await expect(rec.writeAudio('src-2', T0 + 200, frame(10))).rejects.toBe(error);
    await expect(rec.writeVideo(1, T0 + 200, Buffer.from([0, 0, 0, 1, 9]), true)).rejects.toBe(
      error,
    );
    await expect(rec.noteGap(T0, T0 + 1, 'x')).rejects.toBe(error);
    await expect(rec.flush()).rejects.toBe(error);
    await expect(rec.finalize()).rejects.toBe(error);
    await expect(rec.close()).rejects.toBe(error);
    expect(rec.stats.segmentsSealed).toBe(1);

    // The manifest lists only what is really on disk.
    const segments = (await manifestLines(rec.dir)).filter((e) => e.type === 'segment');
    expect(segments.map((s) => s.file)).toEqual(['tracks/mixed/000001.pcm']);
    expect(await verifyRecording(rec.dir)).toMatchObject({ ok: true, segments: 1 });
  });
});
