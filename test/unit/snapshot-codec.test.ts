/**
 * The stored form of a call snapshot (src/redis/snapshot-codec.ts): deflated against a preset
 * dictionary, marked; unmarked JSON read as it is. The dictionary may never change once released,
 * so a value written by the first release that had it must keep reading the same.
 */
import fc from 'fast-check';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { speakersOfSnapshot } from '../../src/media/roster-sources.js';
import { compressSnapshot, snapshotJson } from '../../src/redis/snapshot-codec.js';

/** Written by the release that introduced the first dictionary (the JSON below, deflated). */
const WRITTEN_BY_FIRST_RELEASE =
  'z1:vZZJCsMwDEVPJJBlWcNxbEW5/xG6aogDoU4p3VtgNPz3/iATeiMT+sgW1IWIlaSu28Jc88kWfiUFukcylgS0IcCSAh23Ds1aoSZUR4kDa0uPn0uB9mHD06CiEDB2AvfqkJjiLi0wbA6ZobGx2g61jgZMLuCGG/R9mAQKmegvpeApuBYbNYFrpsuxDYUX6fKuaI5+Tfrzbt0kfVG3QeqQHQ3YuoFbKKS7EGbkFvzFEKakvwbO+cvXW38B';
const USER = '7fce401e-08b6-46e6-a0da-585125623b1c';
const JSON_OF_FIRST_RELEASE =
  '{"status":"active","value":{"live":{"established":"recording"}},"historyValue":{},' +
  '"context":{"seq":7,"timers":{"keepAlive":7},"recording":{"persist":true,' +
  '"confirmedAt":1796224726300,"reports":[{"status":"recording","at":1796224726300,"ok":true}]},' +
  '"keepAlive":{"sent":0},"media":{"connected":true,"flowing":true},"roster":{"participants":' +
  `{"${USER}":{"id":"${USER}","kind":"user","identities":[{"kind":"user",` +
  '"id":"7ab8b9e8-3062-40a2-9939-e0e69965c0c8","tenantId":"b7cd478f-33b5-4296-980d-afb86c062867"}],' +
  '"muted":false,"serverMuted":false,"inLobby":false,"sources":{"audio":"1"},"seq":1}},"seq":1,' +
  `"left":{},"history":[{"id":"${USER}","sources":["1"],"joinedAt":1796224726140}],"dropped":0},` +
  '"trail":[["incoming",1796224725909],["recording",1796224726300]],"invite":{"callId":' +
  '"1798b279-ea08-48a8-98c7-e99620ecedc4","tenantId":"b7cd478f-33b5-4296-980d-afb86c062867",' +
  '"kind":"p2p"},"receivedAt":1796224725909},"children":{}}';

describe('the stored snapshot', () => {
  it('reads what the first release with the dictionary wrote (the dictionary never changes)', () => {
    expect(snapshotJson(WRITTEN_BY_FIRST_RELEASE)).toBe(JSON_OF_FIRST_RELEASE);
    expect(compressSnapshot(JSON_OF_FIRST_RELEASE)).toBe(WRITTEN_BY_FIRST_RELEASE);
  });

  it('gives back any JSON exactly', () => {
    fc.assert(
      fc.property(fc.json(), (json) => snapshotJson(compressSnapshot(json)) === json),
      { numRuns: 500 },
    );
  });

  it('reads a value stored as JSON (older builds, PACK_SNAPSHOTS=false) as it is', () => {
    expect(snapshotJson(JSON_OF_FIRST_RELEASE)).toBe(JSON_OF_FIRST_RELEASE);
    expect(snapshotJson('')).toBe('');
  });

  it('is at most a quarter of the JSON, base64 included', () => {
    expect(WRITTEN_BY_FIRST_RELEASE.length).toBeLessThanOrEqual(JSON_OF_FIRST_RELEASE.length / 4);
  });

  it('refuses a damaged value, and one that would inflate beyond any snapshot', () => {
    expect(() => snapshotJson('z1:not deflate at all')).toThrow();
    const bomb = deflateRawSync(Buffer.alloc(33 * 1024 * 1024, 32)).toString('base64');
    expect(bomb.length).toBeLessThan(100_000);
    // 33 MB of spaces in 33 KB: refused at the limit, not expanded
    expect(() => snapshotJson(`z1:${bomb}`)).toThrow();
  });

  it("gives the media process the roster's sources in either form", () => {
    const speakers = speakersOfSnapshot(WRITTEN_BY_FIRST_RELEASE);
    expect(speakers).toMatchObject({ '1': { participantId: USER, kind: 'user' } });
    expect(speakersOfSnapshot(JSON_OF_FIRST_RELEASE)).toEqual(speakers);
    expect(speakersOfSnapshot('z1:damaged')).toEqual({});
  });
});
