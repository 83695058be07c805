/**
 * A call's history on real Redis: one entry per committed transition, in commit order, written
 * by the commit script itself (a refused commit writes none), capped with the shed entries
 * counted, and kept beside the compact record once the call ends.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import type { CallEvent } from '../../machines/call.js';
import { createCore, type Core } from '../../src/roles/core.js';
import { callKeys } from '../../src/redis/keys.js';
import { historyEntryJson } from '../../src/redis/history-codec.js';
import type { CallRecord } from '../../src/calls/call-record.js';
import { parseHistory } from '../../src/calls/history.js';
import { createSnapshotStore } from '../../src/calls/snapshot-store.js';
import { incoming, participant } from '../helpers/call-events.js';
import { deleteByPrefix, plainRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.js';

const prefix = uniquePrefix('history');
const HISTORY_MAX = 10;
let core: Core;
let redis: Redis;
let n = 0;

beforeAll(async () => {
  core = createCore(
    {
      redisUrl: testRedisUrl(),
      redisKeyPrefix: prefix,
      callHistoryMax: HISTORY_MAX,
      callRetentionMs: 2000,
      recordRetentionMs: 3_600_000,
    },
    pino({ level: 'silent' }),
  );
  await core.ready();
  redis = plainRedis();
});
afterEach(async () => {
  await core.queues.graph.obliterate({ force: true });
  await core.queues.timers.obliterate({ force: true });
});
afterAll(async () => {
  await core.close(); // writes what it still held (the transition feed) before the keys go
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

const t0 = 1_700_000_000_000;
const roster = (at: number, i: number): CallEvent => ({
  type: 'CALL.ROSTER',
  at,
  update: { mode: 'full', participants: [participant(`p${i}`, i)] },
});

async function answered(callId: string): Promise<void> {
  const start = Date.now();
  await core.runtime.applyEvent(callId, { ...incoming(callId, start), deadlineAt: start + 60_000 });
  await core.runtime.applyEvent(callId, {
    type: 'GRAPH.ANSWER_ACCEPTED',
    at: start + 30,
    attempts: 2,
  });
}

describe('call history', () => {
  it('keeps every committed transition in order with its states, time and outcome in words', async () => {
    const callId = `hist-${++n}`;
    await answered(callId);
    await core.runtime.applyEvent(callId, { type: 'CALL.ESTABLISHED', at: Date.now() });
    // a repeat changes nothing: no commit, no entry
    await core.runtime.applyEvent(callId, { type: 'CALL.ESTABLISHED', at: Date.now() });
    const { entries, dropped } = await core.store.loadHistory(callId);
    expect(dropped).toBe(0);
    expect(entries.map((e) => [e.seq, e.event, e.from, e.to])).toEqual([
      [1, 'CALL.INCOMING', 'idle', 'answering'],
      [2, 'GRAPH.ANSWER_ACCEPTED', 'answering', 'live.answered'],
      [3, 'CALL.ESTABLISHED', 'live.answered', 'live.established.awaitingMedia'],
    ]);
    expect(entries[1]!.outcome).toBe('Graph accepted the answer after 2 attempts');
    expect(entries[0]!.outcome).toBeUndefined();
    const { version } = (await core.runtime.getCall(callId))!;
    expect(version).toBe(entries.length);
  });

  it('stores an entry that stays in its state without `to`, and reads it back whole', async () => {
    const callId = `hist-${++n}`;
    await answered(callId);
    await core.runtime.applyEvent(callId, roster(t0, 1));
    const stored = await redis.lrange(callKeys(prefix, callId).history, 0, -1);
    // deflated against the history dictionary, each a fraction of its JSON
    expect(stored.every((value) => value.startsWith('h1:') && value.length < 40)).toBe(true);
    const json = stored.map((value) => JSON.parse(historyEntryJson(value)) as object);
    expect(json.map((entry) => 'to' in entry)).toEqual([true, true, false]);
    const { entries } = await core.store.loadHistory(callId);
    // the same keys in the same order as an entry that moved
    expect(Object.keys(entries[2]!)).toEqual(
      Object.keys(entries[1]!).filter((k) => k !== 'outcome'),
    );
    expect(entries[2]).toMatchObject({
      event: 'CALL.ROSTER',
      from: 'live.answered',
      to: 'live.answered',
    });
    // with packing off (PACK_SNAPSHOTS=false, while older builds still run) it keeps `to`
    const whole = createSnapshotStore(redis, { prefix, packRoster: false });
    const entry = { seq: 1, event: 'CALL.ROSTER', from: 'a', to: 'a', at: 1 };
    const base = { snapshot: {}, state: 'a', done: false, persist: false, effects: [] };
    await whole.commit({ ...base, callId: `${callId}-whole`, expectedVersion: 0, history: entry });
    expect(await redis.lrange(callKeys(prefix, `${callId}-whole`).history, 0, -1)).toEqual([
      JSON.stringify(entry),
    ]);
    // an entry of an older build, with `to`, and one that is not an object read as they are
    expect(parseHistory(['{"seq":1,"event":"E","from":"a","to":"a","at":1}', '5', '{'])).toEqual([
      { seq: 1, event: 'E', from: 'a', to: 'a', at: 1 },
      5,
    ]);
  });

  it('is bounded: the oldest entries go and are counted', async () => {
    const callId = `hist-${++n}`;
    await answered(callId);
    for (let i = 0; i < 15; i += 1) await core.runtime.applyEvent(callId, roster(t0 + i, i));
    const { entries, dropped } = await core.store.loadHistory(callId);
    expect(entries).toHaveLength(HISTORY_MAX);
    expect(dropped).toBe(17 - HISTORY_MAX);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: HISTORY_MAX }, (_, i) => i + 8));
    expect(await redis.llen(callKeys(prefix, callId).history)).toBe(HISTORY_MAX);
  });

  it('is written by the commit itself: a refused commit (stale version, duplicate) adds nothing', async () => {
    const callId = `hist-${++n}`;
    await answered(callId);
    const base = {
      callId,
      snapshot: {},
      state: 'x',
      done: false,
      persist: false,
      effects: [],
      history: { seq: 3, event: 'TEST', from: 'a', to: 'b', at: 1 },
    };
    const stale = await core.store.commit({ ...base, expectedVersion: 1 });
    expect(stale).toEqual({ kind: 'conflict', currentVersion: 2 });
    await core.runtime.applyEvent(callId, roster(t0, 1), { dedupId: 'd1' });
    const repeat = await core.runtime.applyEvent(callId, roster(t0 + 1, 2), { dedupId: 'd1' });
    expect(repeat.outcome).toBe('duplicate');
    const { entries } = await core.store.loadHistory(callId);
    expect(entries.map((e) => e.event)).toEqual([
      'CALL.INCOMING',
      'GRAPH.ANSWER_ACCEPTED',
      'CALL.ROSTER',
    ]);
  });

  it('is kept with the compact record after the call ends', async () => {
    const callId = `hist-${++n}`;
    await answered(callId);
    await core.runtime.applyEvent(callId, {
      type: 'CALL.TERMINATED',
      at: Date.now(),
      resultInfo: { code: 408, subcode: 8537, message: 'keep-alive expired' },
    });
    const keys = callKeys(prefix, callId);
    // the call's state expires with the call retention, its history with the record's
    expect(await redis.pttl(keys.call)).toBeLessThanOrEqual(2000);
    expect(await redis.pttl(keys.history)).toBeGreaterThan(60_000);
    await redis.del(keys.call);
    const record = (await core.runtime.getRecord(callId)) as CallRecord;
    expect(record.history?.map((e) => e.to)).toEqual(['answering', 'live.answered', 'terminated']);
    expect(record.historyDropped).toBe(0);
    expect(record.summary?.failure).toEqual({
      kind: 'keepalive-expired',
      text: 'Teams ended the call: keep-alive expired (408/8537)',
      code: '408/8537',
    });
  });
});
