/**
 * Speaker attribution in the manifest: `speakers` entries (who owns which source id from when
 * on) are chained like the media, finalize turns them into per-source ownership intervals,
 * and verify recomputes those and refuses an unmixed track nobody owned.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRecording, verifyRecording } from '../../../src/media/recording/index.js';
import { speakerIntervals } from '../../../src/media/recording/speakers.js';
import { frame, manifestLines, T0, useTempRoot } from './helpers.js';

const tmp = useTempRoot();

const alice = {
  participantId: 'p-alice',
  kind: 'user',
  identities: [{ kind: 'user', id: 'aad-alice', tenantId: 't1' }],
};
const bot = {
  participantId: 'p-bot',
  kind: 'application',
  identities: [
    { kind: 'application', id: 'app-1' },
    { kind: 'guest', id: 'guest-7' },
  ],
};

/** mixed + src-7 + src-9; Alice owns 7, the bot joins with 9, Alice leaves. */
async function record(callId: string, unowned = false): Promise<string> {
  const rec = await openRecording({ rootDir: tmp.root, callId, segmentMs: 100 });
  await rec.noteSpeakers(1000, { '7': alice });
  for (let i = 0; i < 10; i++) {
    await rec.writeAudio('mixed', T0 + i * 20, frame(i));
    await rec.writeAudio('src-7', T0 + i * 20, frame(100 + i));
    if (i >= 5) await rec.writeAudio('src-9', T0 + i * 20, frame(200 + i));
    if (unowned) await rec.writeAudio('src-5', T0 + i * 20, frame(300 + i));
  }
  await rec.noteSpeakers(2000, { '7': alice, '9': bot });
  await rec.noteSpeakers(3000, { '9': bot });
  await rec.finalize();
  return rec.dir;
}

describe('speaker attribution', () => {
  it('lists every unmixed source with its owners over time in the finalized entry', async () => {
    const dir = await record('owned');
    const result = await verifyRecording(dir);
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    const finalizedAt = (await manifestLines(dir)).at(-1)!.at as number;
    expect(result.speakers).toEqual([
      { sourceId: '7', track: 'src-7', owners: [{ ...alice, from: 1000, to: 3000 }] },
      { sourceId: '9', track: 'src-9', owners: [{ ...bot, from: 2000, to: finalizedAt }] },
    ]);
  });

  it('refuses an unmixed track that no participant owned', async () => {
    const result = await verifyRecording(await record('unowned', true));
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual(['final/src-5.wav: no participant owned source 5']);
  });

  it('catches an edited owner: the chain covers the speakers entries', async () => {
    const dir = await record('edited');
    const path = join(dir, 'manifest.jsonl');
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.replace('"aad-alice"', '"aad-mallory"'));
    const result = await verifyRecording(dir);
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toMatch(/hash does not match the entry's content/);
  });

  it('splits a source id that changed hands into one interval per owner', () => {
    const intervals = speakerIntervals(
      [
        { at: 10, sources: { '3': alice } },
        { at: 20, sources: { '3': alice } },
        { at: 30, sources: { '3': bot } },
        { at: 40, sources: {} },
      ],
      99,
    );
    expect(intervals).toEqual([
      {
        sourceId: '3',
        track: 'src-3',
        owners: [
          { ...alice, from: 10, to: 30 },
          { ...bot, from: 30, to: 40 },
        ],
      },
    ]);
  });

  it('refuses a map that is not a speaker map', async () => {
    const rec = await openRecording({ rootDir: tmp.root, callId: 'bad-map', segmentMs: 100 });
    await expect(rec.noteSpeakers(1, { 'not-a-number': alice })).rejects.toThrow(
      /invalid speaker map/,
    );
    await rec.close();
  });
});
