/**
 * verifyRecording and `npm run verify`: an untouched recording passes; a flipped byte, a
 * removed manifest line or an edited hash fails with a problem that says what is wrong.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRecording, verifyRecording } from '../../../src/media/recording/index.js';
import { frame, T0, useTempRoot } from './helpers.js';
import { entryArgs } from '../../helpers/role-bundles.js';

const tmp = useTempRoot();

/** A recording of 5 sealed mixed segments and 1 gap; finalized if asked. */
async function record(callId: string, finalize = false): Promise<string> {
  const rec = await openRecording({ rootDir: tmp.root, callId, segmentMs: 100 });
  for (let i = 0; i < 25; i++) await rec.writeAudio('mixed', T0 + i * 20, frame(i));
  await rec.noteGap(T0 + 500, T0 + 900, 'peer-reported-loss', 'mixed');
  if (finalize) await rec.finalize();
  else await rec.close();
  return rec.dir;
}

async function editManifest(dir: string, edit: (lines: string[]) => string[]): Promise<void> {
  const path = join(dir, 'manifest.jsonl');
  const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
  await writeFile(path, `${edit(lines).join('\n')}\n`);
}

async function flipByte(path: string, at: number): Promise<void> {
  const data = await readFile(path);
  data[at] = data[at]! ^ 0x01;
  await writeFile(path, data);
}

describe('verifyRecording', () => {
  it('passes an untouched recording and reports its segments and gaps', async () => {
    const dir = await record('clean');
    expect(await verifyRecording(dir)).toEqual({
      ok: true,
      problems: [],
      segments: 5,
      gaps: [{ track: 'mixed', from: T0 + 500, to: T0 + 900, reason: 'peer-reported-loss' }],
      finalized: false,
      orphans: [],
      notes: [],
      speakers: [],
    });
  });

  it('fails when a byte of a sealed segment changed', async () => {
    const dir = await record('flip');
    await flipByte(join(dir, 'tracks/mixed/000003.pcm'), 100);
    const result = await verifyRecording(dir);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      'tracks/mixed/000003.pcm: content does not match its sha256 in the manifest (the file was altered)',
    ]);
  });

  it('fails when a manifest line was removed', async () => {
    const dir = await record('removed');
    await editManifest(dir, (lines) => lines.filter((_, i) => i !== 2));
    const result = await verifyRecording(dir);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      "manifest line 3: prev does not match line 2's hash: a line was removed, reordered or edited",
    ]);
    expect(result.orphans).toEqual(['tracks/mixed/000002.pcm']);
  });

  it('fails when a hash in the manifest was edited', async () => {
    const dir = await record('edited');
    await editManifest(dir, (lines) =>
      lines.map((l, i) => (i === 1 ? l.replace(/"hash":"[0-9a-f]/, '"hash":"x') : l)),
    );
    const result = await verifyRecording(dir);
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toMatch(/line 2: .*hash/);
    expect(result.problems.join('\n')).toMatch(/line 3: prev does not match line 2's hash/);
  });

  it('fails when the times of a segment entry were edited', async () => {
    const dir = await record('retimed');
    await editManifest(dir, (lines) =>
      lines.map((l, i) =>
        i === 1 ? l.replace(`"endTimestamp":${T0 + 100}`, `"endTimestamp":${T0 + 120}`) : l,
      ),
    );
    const result = await verifyRecording(dir);
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toMatch(/line 2: hash does not match the entry's content/);
  });

  it('fails when any other field of a segment entry was edited (the hash covers the entry)', async () => {
    const dir = await record('reindexed');
    await editManifest(dir, (lines) =>
      lines.map((l, i) => {
        if (i !== 1) return l;
        const entry = JSON.parse(l) as Record<string, unknown>;
        return JSON.stringify({ ...entry, seq: Number(entry.seq) + 100 });
      }),
    );
    const result = await verifyRecording(dir);
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toMatch(/line 2: hash does not match the entry's content/);
  });

  it('checks the final files of a finalized recording', async () => {
    const dir = await record('final', true);
    expect(await verifyRecording(dir)).toMatchObject({ ok: true, finalized: true });
    await flipByte(join(dir, 'final/mixed.wav'), 4000);
    const result = await verifyRecording(dir);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      'final/mixed.wav: content does not match its sha256 in the manifest (the file was altered)',
    ]);
  });

  it('fails a directory without a manifest', async () => {
    const result = await verifyRecording(join(tmp.root, 'nothing-here'));
    expect(result).toMatchObject({
      ok: false,
      problems: ['manifest.jsonl: cannot be read (ENOENT)'],
    });
  });
});

describe('npm run verify', () => {
  const cli = join(import.meta.dirname, '../../../src/media/recording/verify-cli.ts');
  const run = (...dirs: string[]) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [...entryArgs(cli), ...dirs], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', (code) => resolve({ code, out }));
    });

  it('exits 0 for good recordings and 1 as soon as one is not ok', async () => {
    const good = await record('cli-good', true);
    const bad = await record('cli-bad');
    await flipByte(join(bad, 'tracks/mixed/000001.pcm'), 0);

    const ok = await run(good);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain(`${good}: OK (finalized, 5 segments, 1 gap)`);
    expect(ok.out).toContain('(400 ms, peer-reported-loss)');

    const failed = await run(good, bad);
    expect(failed.code).toBe(1);
    expect(failed.out).toContain(`${bad}: FAILED`);
    expect(failed.out).toContain('problem: tracks/mixed/000001.pcm: content does not match');
    expect(failed.out).toContain('1 of 2 recordings OK');
  });

  it('exits 2 without a directory', async () => {
    expect((await run()).code).toBe(2);
  });
});
