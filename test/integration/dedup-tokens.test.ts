/**
 * A call's dedup tokens (which deliveries and job results it applied lately) live in its hash,
 * claimed by the commit script: bounded in count and in time, written only by a commit that
 * goes through, and a field that is not in their format is read as holding none. Real Redis.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSnapshotStore, type CommitRequest } from '../../src/calls/snapshot-store.js';
import { callKeys } from '../../src/redis/keys.js';
import { deleteByPrefix, plainRedis, uniquePrefix } from '../helpers/redis.js';

const prefix = uniquePrefix('dedup-tokens');
let redis: Redis;
let n = 0;

beforeAll(() => {
  redis = plainRedis();
});
afterAll(async () => {
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

const request = (callId: string, expectedVersion: number, dedupId?: string): CommitRequest => ({
  callId,
  expectedVersion,
  snapshot: { n: expectedVersion },
  state: 'live.established',
  done: false,
  persist: false,
  effects: [],
  ...(dedupId === undefined ? {} : { dedupId }),
});

/** Commits `dedupIds` one after another on a fresh call; returns the call's id. */
async function committed(
  store: ReturnType<typeof createSnapshotStore>,
  dedupIds: string[],
): Promise<string> {
  const callId = `dd-${++n}`;
  for (const [version, id] of dedupIds.entries()) {
    expect(await store.commit(request(callId, version, id))).toMatchObject({
      kind: 'committed',
      version: version + 1,
    });
  }
  return callId;
}

const tokens = async (callId: string) =>
  ((await redis.hget(callKeys(prefix, callId).call, 'dd')) ?? '').split(' ').filter(Boolean);

describe('dedup tokens in the call hash', () => {
  it('keeps the newest ones up to the limit: an older copy beyond it is applied again', async () => {
    const store = createSnapshotStore(redis, { prefix, dedupMax: 3 });
    const callId = await committed(store, ['d1', 'd2', 'd3', 'd4', 'd5']);
    expect(await tokens(callId)).toHaveLength(3);
    const seen = await Promise.all(
      ['d1', 'd2', 'd3', 'd4', 'd5'].map((d) => store.seen(callId, d)),
    );
    expect(seen).toEqual([false, false, true, true, true]);
    expect(await store.commit(request(callId, 5, 'd3'))).toEqual({ kind: 'duplicate' });
    expect(await store.commit(request(callId, 5, 'd1'))).toMatchObject({ kind: 'committed' });
    expect(await store.seen(callId, 'd3')).toBe(false);
    expect(await tokens(callId)).toHaveLength(3);
  });

  it('keeps each for at least its lifetime and drops it once expired', async () => {
    const store = createSnapshotStore(redis, { prefix, dedupTtlMs: 1000 });
    const callId = await committed(store, ['e1']);
    expect(await store.seen(callId, 'e1')).toBe(true);
    expect(await store.commit(request(callId, 1, 'e1'))).toEqual({ kind: 'duplicate' });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect(await store.seen(callId, 'e1')).toBe(false);
    expect(await store.commit(request(callId, 1, 'e2'))).toMatchObject({ kind: 'committed' });
    // the expired token went with that commit
    expect((await tokens(callId)).map((t) => t.split('=')[0])).toHaveLength(1);
    expect(await store.commit(request(callId, 2, 'e1'))).toMatchObject({ kind: 'committed' });
  });

  it('is claimed only by a commit that goes through; a commit without one leaves them alone', async () => {
    const store = createSnapshotStore(redis, { prefix });
    const callId = await committed(store, ['f1']);
    expect(await store.commit(request(callId, 0, 'f2'))).toEqual({
      kind: 'conflict',
      currentVersion: 1,
    });
    expect(await store.seen(callId, 'f2')).toBe(false);
    expect(await store.commit(request(callId, 1))).toMatchObject({ kind: 'committed' });
    expect(await store.seen(callId, 'f1')).toBe(true);
    // the refused delivery, delivered again, is applied
    expect(await store.commit(request(callId, 2, 'f2'))).toMatchObject({ kind: 'committed' });
  });

  it('reads a field not in their format as holding none, and rewrites it', async () => {
    const store = createSnapshotStore(redis, { prefix });
    const callId = await committed(store, ['g1']);
    await redis.hset(callKeys(prefix, callId).call, 'dd', 'junk == =5 g1=x \u0000');
    expect(await store.seen(callId, 'g1')).toBe(false);
    expect(await store.commit(request(callId, 1, 'g1'))).toMatchObject({ kind: 'committed' });
    expect(await tokens(callId)).toHaveLength(1);
    expect(await store.seen(callId, 'g1')).toBe(true);
  });
});
