/**
 * Crashes and continuations (docs/architecture.md#recordings-survive-crashes): a process that dies
 * loses at most the segments it had not sealed, the next process continues the same directory, the
 * hole is listed as a gap, and verify passes throughout.
 */
import { spawn } from 'node:child_process';
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRecording, verifyRecording } from '../../../src/media/recording/index.js';
import { frame, manifestLines, readWav, T0, useTempRoot, zeros } from './helpers.js';

const tmp = useTempRoot();

async function writeMixed(
  rec: Awaited<ReturnType<typeof openRecording>>,
  from: number,
  count: number,
): Promise<void> {
  for (let i = from; i < from + count; i++) await rec.writeAudio('mixed', T0 + i * 20, frame(i));
}

const frames = (from: number, count: number) =>
  Buffer.concat(Array.from({ length: count }, (_, k) => frame(from + k)));

describe('continuing a recording', () => {
  it('continues after a clean close and lists the hole before the new frames as a gap', async () => {
    const first = await openRecording({ rootDir: tmp.root, callId: 'resume' });
    await writeMixed(first, 0, 50); // T0 .. T0+1000
    await first.close();
    const second = await openRecording({ rootDir: tmp.root, callId: 'resume' });
    await writeMixed(second, 150, 50); // T0+3000 .. T0+4000
    const result = await second.finalize();

    expect(result.gaps).toEqual([
      { track: 'mixed', from: T0 + 1000, to: T0 + 3000, reason: 'discontinuity' },
    ]);
    const data = (await readWav(result.wav.mixed)).data;
    expect(data.equals(Buffer.concat([frames(0, 50), zeros(2000), frames(150, 50)]))).toBe(true);
    const opens = (await manifestLines(result.dir)).filter((e) => e.type === 'open');
    expect(opens).toHaveLength(2);
    const verified = await verifyRecording(result.dir);
    expect(verified).toMatchObject({ ok: true, finalized: true, gaps: result.gaps });
  });

  it('loses only the unsealed segment when a process abandons the recording', async () => {
    const crashed = await openRecording({ rootDir: tmp.root, callId: 'abandon', segmentMs: 200 });
    await writeMixed(crashed, 0, 23); // two sealed segments of 10 frames, 3 frames in memory
    // No close(): the process "dies" with the object.
    const midway = await verifyRecording(join(tmp.root, 'abandon'));
    expect(midway).toMatchObject({ ok: true, segments: 2 });

    const next = await openRecording({ rootDir: tmp.root, callId: 'abandon', segmentMs: 200 });
    await writeMixed(next, 50, 10);
    const result = await next.finalize();

    expect(result.gaps).toEqual([
      { track: 'mixed', from: T0 + 400, to: T0 + 1000, reason: 'discontinuity' },
    ]);
    const data = (await readWav(result.wav.mixed)).data;
    expect(data.equals(Buffer.concat([frames(0, 20), zeros(600), frames(50, 10)]))).toBe(true);
    expect(await verifyRecording(result.dir)).toMatchObject({ ok: true, gaps: result.gaps });
  });

  it('ignores a segment file written just before a crash but never listed', async () => {
    const crashed = await openRecording({ rootDir: tmp.root, callId: 'orphan', segmentMs: 200 });
    await writeMixed(crashed, 0, 20);
    // The crash hit between the write of segment 3 and its manifest entry.
    await writeFile(join(crashed.dir, 'tracks/mixed/000003.pcm'), frames(20, 7));

    const before = await verifyRecording(crashed.dir);
    expect(before).toMatchObject({ ok: true, segments: 2, orphans: ['tracks/mixed/000003.pcm'] });

    const next = await openRecording({ rootDir: tmp.root, callId: 'orphan', segmentMs: 200 });
    await writeMixed(next, 30, 10);
    const result = await next.finalize();
    const data = (await readWav(result.wav.mixed)).data;
    expect(data.equals(Buffer.concat([frames(0, 20), zeros(200), frames(30, 10)]))).toBe(true);
    expect(await verifyRecording(result.dir)).toMatchObject({ ok: true, orphans: [] });
  });

  it('cuts a torn last manifest line (a crash during an append) and goes on', async () => {
    const crashed = await openRecording({ rootDir: tmp.root, callId: 'torn', segmentMs: 200 });
    await writeMixed(crashed, 0, 10);
    await appendFile(join(crashed.dir, 'manifest.jsonl'), '{"type":"segment","seq":2,"tr');

    const before = await verifyRecording(crashed.dir);
    expect(before.ok).toBe(true);
    expect(before.notes.join()).toMatch(/partial line/);

    const next = await openRecording({ rootDir: tmp.root, callId: 'torn', segmentMs: 200 });
    await writeMixed(next, 10, 10);
    await next.close();
    expect(await verifyRecording(next.dir)).toMatchObject({ ok: true, segments: 2, notes: [] });
  });

  it('refuses to continue a recording whose manifest chain is broken', async () => {
    const first = await openRecording({ rootDir: tmp.root, callId: 'broken', segmentMs: 100 });
    await writeMixed(first, 0, 10);
    await first.close();
    const path = join(first.dir, 'manifest.jsonl');
    const lines = (await readFile(path, 'utf8')).split('\n');
    await writeFile(path, lines.filter((_, i) => i !== 1).join('\n'));
    await expect(
      openRecording({ rootDir: tmp.root, callId: 'broken', segmentMs: 100 }),
    ).rejects.toMatchObject({ code: 'ECORRUPT' });
  });

  it('refuses a writer whose manifest another process appended to meanwhile', async () => {
    const old = await openRecording({ rootDir: tmp.root, callId: 'two', segmentMs: 100 });
    await writeMixed(old, 0, 3);
    // The session resumed on another media process, which sealed its first segment before
    // the old process got round to flushing: the old one must neither list nor overwrite.
    const resumed = await openRecording({ rootDir: tmp.root, callId: 'two', segmentMs: 100 });
    await writeMixed(resumed, 10, 5);
    await expect(old.flush()).rejects.toMatchObject({ code: 'ECONFLICT' });
    await writeMixed(resumed, 15, 5);
    const result = await resumed.finalize();
    expect((await readWav(result.wav.mixed)).data.equals(frames(10, 10))).toBe(true);
    expect(await verifyRecording(resumed.dir)).toMatchObject({ ok: true, segments: 2 });
  });

  it('survives a process killed at an arbitrary instant while writing', async () => {
    for (const [round, delayMs] of [0, 7, 23].entries()) {
      const callId = `killed-${round}`;
      await killWriterAfterSegments(callId, 4 + round, delayMs);
      const dir = join(tmp.root, callId);
      const afterCrash = await verifyRecording(dir);
      expect(afterCrash.problems).toEqual([]);

      const sealed = (await manifestLines(dir)).filter(
        (e) => e.type === 'segment' && e.track === 'mixed',
      );
      const sealedEnd = Math.max(...sealed.map((e) => e.endTimestamp as number));
      const sealedFrames = (sealedEnd - T0) / 20;
      expect(sealedFrames).toBeGreaterThan(0);

      const next = await openRecording({ rootDir: tmp.root, callId, segmentMs: 100 });
      const resumeAt = sealedFrames + 100;
      await writeMixed(next, resumeAt, 10);
      const result = await next.finalize();

      const data = (await readWav(result.wav.mixed)).data;
      const expected = [frames(0, sealedFrames), zeros(2000), frames(resumeAt, 10)];
      expect(data.equals(Buffer.concat(expected))).toBe(true);
      expect(result.gaps).toContainEqual({
        track: 'mixed',
        from: sealedEnd,
        to: sealedEnd + 2000,
        reason: 'discontinuity',
      });
      expect(await verifyRecording(dir)).toMatchObject({ ok: true, problems: [] });
      expect(await readdir(join(dir, 'final'))).toEqual(['mixed.wav', 'src-1.wav']);
    }
  });
});

/** Runs fixtures/crash-writer.ts and SIGKILLs it `delayMs` after it sealed `segments`. */
async function killWriterAfterSegments(callId: string, segments: number, delayMs: number) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'fixtures/crash-writer.ts'), tmp.root, callId],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  );
  let armed = false;
  child.stdout.on('data', (d: Buffer) => {
    const sealed = Number(d.toString().trim().split('\n').at(-1));
    if (!armed && sealed >= segments) {
      armed = true;
      setTimeout(() => child.kill('SIGKILL'), delayMs);
    }
  });
  const signal = await exited;
  expect(signal, stderr).toBe('SIGKILL');
}
