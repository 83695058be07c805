/**
 * The call hash stores a snapshot's roster packed (machines/roster.ts `packRoster`): a
 * participant's identities once, no derived source map. Through the real store and Redis, a
 * load gives back exactly what was committed, and a snapshot stored whole by an older build
 * loads as it was. (The operator's view of a packed call: admin-api.test.ts.)
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_MACHINE_VERSION } from '../../machines/call.js';
import { applyRoster, EMPTY_ROSTER } from '../../machines/roster.js';
import { createSnapshotStore, parseSnapshot } from '../../src/calls/snapshot-store.js';
import { callKeys } from '../../src/redis/keys.js';
import { snapshotJson } from '../../src/redis/snapshot-codec.js';
import { participant } from '../helpers/call-events.js';
import { deleteByPrefix, plainRedis, uniquePrefix } from '../helpers/redis.js';

const prefix = uniquePrefix('snapshot-roster');
let redis: Redis;

beforeAll(() => {
  redis = plainRedis();
});
afterAll(async () => {
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

const guid = (n: number) => `0000000${n}-58f9-43ef-9bce-4908f027e2f9`;
const roster = applyRoster(
  applyRoster(
    EMPTY_ROSTER,
    {
      mode: 'full',
      participants: [1, 2, 3].map((n) =>
        participant(guid(n), 1, {
          identities: [{ kind: 'user', id: guid(n + 10), tenantId: guid(9) }],
          sources: { audio: `${n}`, video: `${n + 10}` },
        }),
      ),
    },
    1000,
  ),
  { mode: 'removed', participants: [participant(guid(3), 2)] },
  2000,
);
const snapshot = { status: 'active', value: 'x', context: { seq: 1, roster, trail: [] } };

const committedSnapshot = (store: ReturnType<typeof createSnapshotStore>, callId: string) =>
  store.commit({
    callId,
    expectedVersion: 0,
    snapshot,
    state: 'live.established',
    done: false,
    persist: false,
    effects: [],
  });

describe('a snapshot with a roster in the call hash', () => {
  it('is stored packed and loads as committed', async () => {
    const store = createSnapshotStore(redis, { prefix });
    const callId = 'roster-1';
    expect(await committedSnapshot(store, callId)).toMatchObject({ kind: 'committed' });
    const stored = (await redis.hget(callKeys(prefix, callId).call, 'snap'))!;
    // deflated (test/unit/snapshot-codec.test.ts); the roster inside packed
    expect(stored.startsWith('z1:')).toBe(true);
    expect(stored.length).toBeLessThan(JSON.stringify(snapshot).length * 0.4);
    const raw = snapshotJson(stored);
    // each present participant's identity is stored once; the one who left keeps its own
    for (const n of [1, 2, 3]) expect(raw.split(guid(n + 10)).length - 1).toBe(1);
    expect(raw.length).toBeLessThan(JSON.stringify(snapshot).length * 0.8);
    const loaded = await store.load(callId);
    expect(JSON.stringify(loaded.snapshot)).toBe(JSON.stringify(snapshot));
  });

  it('is stored whole with packing off (PACK_SNAPSHOTS=false), and loads the same', async () => {
    const store = createSnapshotStore(redis, { prefix, packRoster: false });
    const callId = 'roster-unpacked';
    await committedSnapshot(store, callId);
    const raw = await redis.hget(callKeys(prefix, callId).call, 'snap');
    expect(raw).toBe(JSON.stringify(snapshot));
    const packing = createSnapshotStore(redis, { prefix });
    expect(JSON.stringify((await packing.load(callId)).snapshot)).toBe(JSON.stringify(snapshot));
  });

  it('loads a snapshot stored whole as it was', async () => {
    const store = createSnapshotStore(redis, { prefix });
    const callId = 'roster-whole';
    await redis.hset(callKeys(prefix, callId).call, {
      v: '3',
      mv: CALL_MACHINE_VERSION,
      snap: JSON.stringify(snapshot),
    });
    expect(JSON.stringify((await store.load(callId)).snapshot)).toBe(JSON.stringify(snapshot));
  });

  it('reads a snapshot without a usable roster as it is', () => {
    for (const json of [
      '{}',
      '{"context":{}}',
      '{"context":{"roster":{"history":5}}}',
      '{"context":{"roster":{"participants":null,"history":[]}}}',
      'null',
    ]) {
      expect(parseSnapshot(json)).toEqual(JSON.parse(json));
    }
    expect(() => parseSnapshot('{')).toThrow();
    // a history entry that is not a stint stays what it is
    const odd = parseSnapshot('{"context":{"roster":{"participants":{},"history":[null,7]}}}');
    expect(odd).toMatchObject({ context: { roster: { history: [null, 7], sources: {} } } });
  });
});
