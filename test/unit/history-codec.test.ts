/**
 * The stored form of a call's history entries (src/redis/history-codec.ts): deflated against a
 * preset dictionary, marked; unmarked JSON read as it is. The dictionary may never change once
 * released, so a value written by the first release that had it must keep reading the same.
 */
import fc from 'fast-check';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseHistory, storedHistoryEntry } from '../../src/calls/history.js';
import { compressHistoryEntry, historyEntryJson } from '../../src/redis/history-codec.js';

/** Written by the release that introduced the first dictionary (the JSON below, deflated). */
const WRITTEN_BY_FIRST_RELEASE = 'h1:g7kDI5eR6w5zSzMjYxNDc3MLY0MS3AEA';
const JSON_OF_FIRST_RELEASE =
  '{"seq":17,"event":"GRAPH.KEEPALIVE_OK","from":"live.established.recording",' +
  '"at":1796234177831,"outcome":"Graph accepted the keep-alive"}';

describe('a stored history entry', () => {
  it('reads what the first release with the dictionary wrote (the dictionary never changes)', () => {
    expect(historyEntryJson(WRITTEN_BY_FIRST_RELEASE)).toBe(JSON_OF_FIRST_RELEASE);
    expect(compressHistoryEntry(JSON_OF_FIRST_RELEASE)).toBe(WRITTEN_BY_FIRST_RELEASE);
  });

  it('gives back any JSON exactly', () => {
    fc.assert(
      fc.property(fc.json(), (json) => historyEntryJson(compressHistoryEntry(json)) === json),
      { numRuns: 500 },
    );
  });

  it('is about a quarter of the JSON for the entries a held call keeps, base64 included', () => {
    expect(WRITTEN_BY_FIRST_RELEASE.length).toBeLessThanOrEqual(JSON_OF_FIRST_RELEASE.length / 3.5);
    const entry = {
      seq: 4,
      event: 'CALL.ESTABLISHED',
      from: 'live.establishing',
      to: 'live.established.awaitingMedia',
      at: 1_796_234_117_353,
    };
    expect(storedHistoryEntry(entry).length).toBeLessThanOrEqual(JSON.stringify(entry).length / 3);
  });

  it('reads a value stored as JSON (older builds, PACK_SNAPSHOTS=false) as it is', () => {
    expect(historyEntryJson(JSON_OF_FIRST_RELEASE)).toBe(JSON_OF_FIRST_RELEASE);
  });

  it('refuses a damaged value and one that would inflate beyond any entry; the list skips them', () => {
    expect(() => historyEntryJson('h1:not deflate at all')).toThrow();
    const bomb = `h1:${deflateRawSync(Buffer.alloc(1024 * 1024, 32)).toString('base64')}`;
    // 1 MB of spaces in 1 KB: refused at the limit, not expanded
    expect(bomb.length).toBeLessThan(2000);
    expect(() => historyEntryJson(bomb)).toThrow();
    expect(parseHistory(['h1:damaged', bomb, WRITTEN_BY_FIRST_RELEASE])).toEqual([
      { ...(JSON.parse(JSON_OF_FIRST_RELEASE) as object), to: 'live.established.recording' },
    ]);
  });
});
