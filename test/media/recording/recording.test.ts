/**
 * One process writing one recording: what goes in comes out of the WAVs byte for byte, on one
 * timeline shared by every track, with holes filled, late frames dropped and segments sealed
 * by media time.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  openRecording,
  RecordingError,
  verifyRecording,
} from '../../../src/media/recording/index.js';
import { frame, manifestLines, readWav, T0, useTempRoot, zeros } from './helpers.js';

const tmp = useTempRoot();

describe('a recording written by one process', () => {
  it('gives back, per track, exactly the PCM that went in, in a standard WAV', async () => {
    const rec = await openRecording({ rootDir: tmp.root, callId: 'call-1', segmentMs: 200 });
    const mixed: Buffer[] = [];
    const speaker: Buffer[] = [];
    for (let i = 0; i < 37; i++) {
      mixed.push(frame(i));
      speaker.push(frame(1000 + i));
      await rec.writeAudio('mixed', T0 + i * 20, mixed[i]!);
      await rec.writeAudio('src-42', T0 + i * 20, speaker[i]!);
    }
    const result = await rec.finalize();

    expect(Object.keys(result.wav).sort()).toEqual(['mixed', 'src-42']);
    expect(result.startTimestamp).toBe(T0);
    const wav = await readWav(result.wav.mixed);
    expect(wav).toMatchObject({ format: 1, channels: 1, sampleRate: 16000, bits: 16 });
    expect(wav).toMatchObject({ byteRate: 32000, blockAlign: 2 });
    expect(wav.data.equals(Buffer.concat(mixed))).toBe(true);
    expect((await readWav(result.wav['src-42']!)).data.equals(Buffer.concat(speaker))).toBe(true);
    expect(rec.stats).toMatchObject({ framesWritten: 74, framesDroppedLate: 0 });
    expect(rec.stats.bytesWritten).toBe(74 * 640);
    expect((await verifyRecording(result.dir)).ok).toBe(true);
  });

  it('puts every track on one timeline: a speaker 100 ms late starts with 100 ms of silence', async () => {
    const rec = await openRecording({ rootDir: tmp.root, callId: 'align' });
    for (let i = 0; i < 20; i++) await rec.writeAudio('mixed', T0 + i * 20, frame(i));
    for (let i = 0; i < 10; i++) await rec.writeAudio('src-7', T0 + 100 + i * 20, frame(500 + i));
    const result = await rec.finalize();

    const mixed = (await readWav(result.wav.mixed)).data;
    const speaker = (await readWav(result.wav['src-7']!)).data;
    expect(speaker.length).toBe(mixed.length); // both run to the common end
    expect(speaker.subarray(0, 3200).equals(zeros(100))).toBe(true);
    expect(speaker.subarray(3200, 3200 + 640).equals(frame(500))).toBe(true);
    // The speaker's frame sent at T0+100 sits at the same byte offset as mixed's frame of T0+100.
    expect(mixed.subarray(3200, 3200 + 640).equals(frame(5))).toBe(true);
    expect(speaker.subarray(3200 + 9 * 640, 3200 + 10 * 640).equals(frame(509))).toBe(true);
    expect(speaker.subarray(3200 + 10 * 640).equals(zeros(100))).toBe(true);
  });

  it('places jittered timestamps on the 20 ms grid', async () => {
    const rec = await openRecording({ rootDir: tmp.root, callId: 'jitter' });
    const stamps = [0, 21, 39, 62, 80];
    for (const [i, ms] of stamps.entries()) await rec.writeAudio('mixed', T0 + ms, frame(i));
    const { wav } = await rec.finalize();
    const data = (await readWav(wav.mixed)).data;
    expect(data.equals(Buffer.concat(stamps.map((_, i) => frame(i))))).toBe(true);
  });

  it('fills an inner hole with silence and lists it when it is longer than a second', async () => {
    const rec = await openRecording({ rootDir: tmp.root, callId: 'holes', segmentMs: 400 });
    await rec.writeAudio('mixed', T0, frame(0));
    await rec.writeAudio('mixed', T0 + 80, frame(1)); // 60 ms hole: filled, not listed
    await rec.writeAudio('mixed', T0 + 1300, frame(2)); // 1200 ms hole: filled and listed
    await rec.writeAudio('mixed', T0 + 1320, null); // a silence frame
    await rec.writeAudio('mixed', T0 + 1340, frame(3));
    const result = await rec.finalize();

    const data = (await readWav(result.wav.mixed)).data;
    const expected = Buffer.concat([
      frame(0),
      zeros(60),
      frame(1),
      zeros(1200),
      frame(2),
      zeros(20),
      frame(3),
    ]);
    expect(data.equals(expected)).toBe(true);
    expect(result.gaps).toEqual([
      { track: 'mixed', from: T0 + 100, to: T0 + 1300, reason: 'silence-fill' },
    ]);
    expect((await verifyRecording(result.dir)).gaps).toEqual(result.gaps);
    // The silence is in the segments themselves, which still hold at most segmentMs each and
    // tile the track without holes (byte offset ↔ time holds inside every segment).
    const segments = (await manifestLines(result.dir)).filter((e) => e.type === 'segment');
    expect(segments.map((s) => [s.startTimestamp, s.endTimestamp, s.bytes])).toEqual([
      [T0, T0 + 400, 400 * 32],
      [T0 + 400, T0 + 800, 400 * 32],
      [T0 + 800, T0 + 1200, 400 * 32],
      [T0 + 1200, T0 + 1360, 160 * 32],
    ]);
  });

  it('drops and counts frames older than what the track already holds', async () => {
    const rec = await openRecording({ rootDir: tmp.root, callId: 'late' });
    await rec.writeAudio('mixed', T0, frame(0));
    await rec.writeAudio('mixed', T0 + 20, frame(1));
    await rec.writeAudio('mixed', T0 + 40, frame(2));
    await rec.writeAudio('mixed', T0 + 20, frame(99)); // late (its slot is taken)
    await rec.writeAudio('mixed', T0 - 500, frame(98)); // before the track began
    await rec.writeAudio('mixed', T0 + 60, frame(3));
    const { wav } = await rec.finalize();

    expect(rec.stats.framesDroppedLate).toBe(2);
    expect(rec.stats.framesWritten).toBe(4);
    const data = (await readWav(wav.mixed)).data;
    expect(data.equals(Buffer.concat([0, 1, 2, 3].map(frame)))).toBe(true);
  });

  it('seals a segment as soon as it holds segmentMs of media time', async () => {
    const rec = await openRecording({ rootDir: tmp.root, callId: 'seal', segmentMs: 100 });
    for (let i = 0; i < 12; i++) await rec.writeAudio('mixed', T0 + i * 20, frame(i));
    const trackDir = join(rec.dir, 'tracks', 'mixed');

    expect(await readdir(trackDir)).toEqual(['000001.pcm', '000002.pcm']);
    expect((await stat(join(trackDir, '000002.pcm'))).size).toBe(5 * 640);
    expect(await readFile(join(trackDir, '000002.pcm'))).toEqual(
      Buffer.concat([5, 6, 7, 8, 9].map(frame)),
    );
    const segments = (await manifestLines(rec.dir)).filter((e) => e.type === 'segment');
    expect(segments.map((s) => [s.startTimestamp, s.endTimestamp, s.frames])).toEqual([
      [T0, T0 + 100, 5],
      [T0 + 100, T0 + 200, 5],
    ]);
    expect(rec.stats.segmentsSealed).toBe(2);

    await rec.flush();
    expect(await readdir(trackDir)).toEqual(['000001.pcm', '000002.pcm', '000003.pcm']);
    expect(rec.stats.framesWritten).toBe(12);
    await rec.close();
  });

  it('keeps every frame in order when writes are not awaited while segments are sealed', async () => {
    // Frames arriving while nothing is queued are added at once, the others queue behind the
    // sealing a frame set off: both paths, interleaved, must give the same recording.
    const rec = await openRecording({ rootDir: tmp.root, callId: 'unawaited', segmentMs: 100 });
    const writes: Promise<void>[] = [];
    const mixed: Buffer[] = [];
    const speaker: Buffer[] = [];
    for (let i = 0; i < 57; i++) {
      mixed.push(frame(i));
      speaker.push(frame(2000 + i));
      writes.push(rec.writeAudio('mixed', T0 + i * 20, mixed[i]!));
      writes.push(rec.writeAudio('src-42', T0 + i * 20, speaker[i]!));
      if (i === 30) writes.push(rec.writeAudio('mixed', T0 + 200, frame(999))); // late: dropped
      if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(writes);
    // a frame written after flush() was called waits for it: it is not in what flush sealed
    const flushed = rec.flush();
    mixed.push(frame(57));
    const after = rec.writeAudio('mixed', T0 + 57 * 20, mixed[57]!);
    await flushed;
    const sealed = (await manifestLines(rec.dir)).filter(
      (e) => e.type === 'segment' && e.track === 'mixed',
    );
    expect(sealed.at(-1)).toMatchObject({ endTimestamp: T0 + 57 * 20 });
    await after;
    const result = await rec.finalize();

    expect((await readWav(result.wav.mixed)).data.equals(Buffer.concat(mixed))).toBe(true);
    expect((await readWav(result.wav['src-42']!)).data.length).toBe(58 * 640); // padded to the end
    expect(rec.stats).toMatchObject({ framesWritten: 115, framesDroppedLate: 1 });
    // per track 11 full segments and the flushed rest; then mixed's last frame at finalize
    expect(rec.stats.segmentsSealed).toBe(25);
    expect((await verifyRecording(result.dir)).ok).toBe(true);
  });

  it('seals a quiet track once the others are a segment ahead, without waiting for flush', async () => {
    const rec = await openRecording({ rootDir: tmp.root, callId: 'idle', segmentMs: 100 });
    await rec.writeAudio('src-3', T0, frame(0));
    for (let i = 0; i < 10; i++) await rec.writeAudio('mixed', T0 + i * 20, frame(i));
    expect(await readdir(join(rec.dir, 'tracks', 'src-3'))).toEqual(['000001.pcm']);
    await rec.close();
  });

  it('stores video access units with their frame index and concatenates them at finalize', async () => {
    const rec = await openRecording({ rootDir: tmp.root, callId: 'video', segmentMs: 100 });
    const units = [0, 33, 66, 100, 133, 166].map((ms, i) => ({
      ms,
      data: Buffer.from(`\x00\x00\x00\x01unit-${i}-`.repeat(i + 1)),
    }));
    for (const [i, u] of units.entries()) await rec.writeVideo(9, T0 + u.ms, u.data, i % 3 === 0);
    const result = await rec.finalize();

    const h264 = await readFile(result.video['src-9']!);
    expect(h264.equals(Buffer.concat(units.map((u) => u.data)))).toBe(true);
    const segments = (await manifestLines(rec.dir)).filter((e) => e.type === 'segment');
    expect(segments).toHaveLength(2);
    const firstLen = units[0]!.data.length;
    expect(segments[0]!.index).toEqual([
      [0, 0, 1],
      [33, firstLen, 0],
      [66, firstLen + units[1]!.data.length, 0],
    ]);
    expect((await verifyRecording(rec.dir)).ok).toBe(true);
  });

  it('finalizes once: a second call, and a later process, get the same result', async () => {
    const rec = await openRecording({ rootDir: tmp.root, callId: 'twice' });
    await rec.writeAudio('mixed', T0, frame(1));
    const first = await rec.finalize();
    expect(await rec.finalize()).toEqual(first);
    await expect(rec.writeAudio('mixed', T0 + 20, frame(2))).rejects.toMatchObject({
      code: 'EFINALIZED',
    });
    const again = await openRecording({ rootDir: tmp.root, callId: 'twice' });
    expect(await again.finalize()).toEqual(first);
    const finalized = (await manifestLines(rec.dir)).filter((e) => e.type === 'finalized');
    expect(finalized).toHaveLength(1);
  });

  it('refuses bad arguments without poisoning the recording', async () => {
    await expect(openRecording({ rootDir: tmp.root, callId: '../escape' })).rejects.toMatchObject({
      code: 'EINVAL',
    });
    const rec = await openRecording({ rootDir: tmp.root, callId: 'args' });
    await expect(rec.writeAudio('mixed', T0, Buffer.alloc(100))).rejects.toBeInstanceOf(
      RecordingError,
    );
    await expect(rec.writeAudio('speaker' as 'mixed', T0, null)).rejects.toMatchObject({
      code: 'EINVAL',
    });
    await rec.writeAudio('mixed', T0, frame(0));
    await rec.close();
    await expect(rec.writeAudio('mixed', T0 + 20, frame(1))).rejects.toMatchObject({
      code: 'ECLOSED',
    });
  });
});
