/**
 * The commit's one round trip on a single Redis server: the outbox announcement, the commit
 * script, the acknowledgements, the riders (the writes a commit's effects still need) and the
 * operator feed's entries that wait all go in one pipeline. Runs on a private
 * redis-server, so its script cache starts empty (the NOSCRIPT path) without touching the
 * shared server's.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSnapshotStore, type CommitRequest } from '../../src/calls/snapshot-store.js';
import { startPrivateRedis, type LocalRedis } from '../../src/dev/local-redis.js';
import type { EffectRecord } from '../../src/queues/jobs.js';
import { connectRedis } from '../../src/redis/client.js';
import { callKeys, outboxIndexKey, transitionsKey } from '../../src/redis/keys.js';
import { transitionFeed, type TransitionEvent } from '../../src/calls/transition-feed.js';
import { commitScript, forgetIfDrainedScript } from '../../src/redis/scripts.js';
import { eventually } from '../helpers/system.js';
import { fakeFirstCommit } from '../helpers/commits.js';

let server: LocalRedis;
let redis: Redis;
let observer: Redis;
const prefix = 'crt';

beforeAll(async () => {
  server = await startPrivateRedis();
  redis = connectRedis(server.url) as Redis;
  observer = new Redis(server.url);
});
afterAll(async () => {
  await Promise.all([redis?.quit(), observer?.quit()]);
  await server?.stop();
});

const answer = (callId: string): EffectRecord => ({
  queue: 'graph',
  name: 'answer',
  jobId: `${callId}-answer`,
  data: { op: 'answer', callId, tenantId: 't1', deadlineAt: Date.now() + 5000 },
});

const request = (callId: string, effects: EffectRecord[]): CommitRequest =>
  fakeFirstCommit(callId, { effects, announceAt: 1234 });

/** A store with `ackDelayMs`, and the outbox ids of a first commit of `callId` with one effect. */
async function storeWithCommit(callId: string, ackDelayMs: number) {
  const store = createSnapshotStore(redis, { prefix, ackDelayMs });
  const first = await store.commit(request(callId, [answer(callId)]));
  if (first.kind !== 'committed') throw new Error(`expected a commit, got ${first.kind}`);
  return { store, outboxIds: first.outboxIds };
}

describe('the commit round trip', () => {
  it('loads the script itself when the server has never seen it (NOSCRIPT in the pipeline)', async () => {
    const store = createSnapshotStore(redis, { prefix });
    expect(await observer.script('EXISTS', commitScript.sha)).toEqual([0]);
    const effect = answer('fresh-1');
    const result = await store.commit(request('fresh-1', [effect]));
    expect(result).toMatchObject({ kind: 'committed', version: 1 });
    expect(await observer.script('EXISTS', commitScript.sha)).toEqual([1]);
    expect(await observer.zscore(outboxIndexKey(prefix), 'fresh-1')).toBe('1234');
    // one entry with the transition's effects, read back one effect at a time
    const outbox = await store.readOutbox('fresh-1');
    expect(outbox.map((e) => e.effect)).toEqual([effect]);
    if (result.kind === 'committed') expect(result.outboxIds).toEqual([outbox[0]!.id]);
  });

  it('announces, commits and writes waiting acknowledgements in one round trip', async () => {
    // a long ack delay: only the next commit can have written the acknowledgement
    const store = createSnapshotStore(redis, { prefix, ackDelayMs: 60_000 });
    const first = await store.commit(request('ride-1', [answer('ride-1'), answer('ride-1b')]));
    if (first.kind !== 'committed') throw new Error(`expected a commit, got ${first.kind}`);
    expect(await observer.xlen(callKeys(prefix, 'ride-1').outbox)).toBe(1);
    store.ackOutboxSoon('ride-1', first.outboxIds);
    expect(await observer.xlen(callKeys(prefix, 'ride-1').outbox)).toBe(1);

    const writes: number[] = [];
    const onWrite = () => writes.push(Date.now());
    const socket = (redis as unknown as { stream: NodeJS.EventEmitter }).stream;
    const write = (socket as unknown as { write: (...a: unknown[]) => boolean }).write;
    (socket as unknown as { write: (...a: unknown[]) => boolean }).write = function (
      this: unknown,
      ...args: unknown[]
    ) {
      onWrite();
      return write.apply(this, args);
    };
    try {
      const second = await store.commit(request('ride-2', [answer('ride-2')]));
      expect(second.kind).toBe('committed');
    } finally {
      (socket as unknown as { write: typeof write }).write = write;
    }
    expect(writes).toHaveLength(1); // XDEL + ZADD + EVALSHA in one write, one reply wait
    expect(await observer.xlen(callKeys(prefix, 'ride-1').outbox)).toBe(0);
    expect(await observer.zscore(outboxIndexKey(prefix), 'ride-2')).toBe('1234');
  });

  it('writes acknowledgements on its own after the ack delay when no commit comes', async () => {
    const { store, outboxIds } = await storeWithCommit('alone-1', 20);
    store.ackOutboxSoon('alone-1', outboxIds);
    await new Promise((r) => setTimeout(r, 200));
    expect(await observer.xlen(callKeys(prefix, 'alone-1').outbox)).toBe(0);
  });

  it('sends riders with the next commit and acknowledges their outbox entry once they succeeded', async () => {
    const { store, outboxIds } = await storeWithCommit('rider-1', 60_000);
    expect(store.ridesWrites).toBe(true);
    const seen: unknown[] = [];
    store.ackOutboxSoon('rider-1', outboxIds, [
      {
        queue: (p) => (p.set(`${prefix}:rider-1:a`, 'x').get(`${prefix}:rider-1:a`), 2),
        settle: (replies) => void seen.push(...replies.map(([, value]) => value)),
      },
    ]);
    expect(await observer.exists(`${prefix}:rider-1:a`)).toBe(0); // waiting for a round trip
    expect((await store.commit(request('rider-2', []))).kind).toBe('committed');
    expect(await observer.get(`${prefix}:rider-1:a`)).toBe('x');
    expect(seen).toEqual(['OK', 'x']);
    // the acknowledgement comes after the replies: with the next round trip
    expect(await observer.xlen(callKeys(prefix, 'rider-1').outbox)).toBe(1);
    await store.flushAcks();
    expect(await observer.xlen(callKeys(prefix, 'rider-1').outbox)).toBe(0);
  });

  it('leaves the outbox entry to the sweeper when a rider fails', async () => {
    const { store, outboxIds } = await storeWithCommit('rider-3', 60_000);
    await observer.set(`${prefix}:rider-3:string`, 'not a sorted set');
    const settled: string[] = [];
    store.ackOutboxSoon('rider-3', outboxIds, [
      // a command the server refuses (WRONGTYPE)
      { queue: (p) => (p.zadd(`${prefix}:rider-3:string`, 1, 'm'), 1) },
      {
        queue: (p) => (p.get(`${prefix}:rider-3:string`), 1),
        settle: () => void settled.push('b'),
      },
    ]);
    await store.flushAcks();
    expect(settled).toEqual([]); // stopped at the first failure
    expect(await observer.xlen(callKeys(prefix, 'rider-3').outbox)).toBe(1);
    // a settle that rejects counts as a failure too
    store.ackOutboxSoon('rider-3', outboxIds, [
      {
        queue: (p) => (p.get(`${prefix}:rider-3:string`), 1),
        settle: () => Promise.reject(new Error('no')),
      },
    ]);
    await store.flushAcks();
    expect(await observer.xlen(callKeys(prefix, 'rider-3').outbox)).toBe(1);
  });

  it('sends the waiting riders before a read that follows them, in one round trip', async () => {
    const { store, outboxIds } = await storeWithCommit('rider-4', 60_000);
    store.ackOutboxSoon('rider-4', outboxIds, [
      { queue: (p) => (p.zadd(`${prefix}:rider-4:index`, 1, 'rider-4'), 1) },
    ]);
    const [reply] = await store.sendAfterPending((p) => (p.zcard(`${prefix}:rider-4:index`), 1));
    expect(reply).toEqual([null, 1]);
    await store.flushAcks();
    expect(await observer.xlen(callKeys(prefix, 'rider-4').outbox)).toBe(0);
  });

  it("sends the operator feed's entries with the next commit, in order, or alone after the delay", async () => {
    const store = createSnapshotStore(redis, { prefix, ackDelayMs: 60_000 });
    const feed = transitionFeed(redis, prefix, 1000, store);
    const stream = transitionsKey(prefix);
    await observer.del(stream);
    const entry = (seq: number): TransitionEvent => ({
      callId: 'feed-1',
      tenantId: 't1',
      live: true,
      seq,
      event: 'TEAMS.CALL_ESTABLISHED',
      from: 'answering',
      to: 'established',
      at: 1000 + seq,
    });
    feed.publishSoon(entry(1));
    feed.publishSoon(entry(2));
    expect(await observer.xlen(stream)).toBe(0); // waiting for a round trip
    expect((await store.commit(request('feed-1', []))).kind).toBe('committed');
    const written = await observer.xrange(stream, '-', '+');
    expect(written.map(([, fields]) => (JSON.parse(fields[1]!) as TransitionEvent).seq)).toEqual([
      1, 2,
    ]);

    const quick = createSnapshotStore(redis, { prefix, ackDelayMs: 20 });
    transitionFeed(redis, prefix, 1000, quick).publishSoon(entry(3));
    await new Promise((r) => setTimeout(r, 200));
    expect(await observer.xlen(stream)).toBe(3);
  });
});

describe('the acknowledgement that empties an outbox', () => {
  const index = outboxIndexKey(prefix);
  const indexed = (callId: string) => observer.zscore(index, callId);

  it('drops the call from the outbox index in the same round trip (the script loaded on NOSCRIPT)', async () => {
    expect(await observer.script('EXISTS', forgetIfDrainedScript.sha)).toEqual([0]);
    const { store, outboxIds } = await storeWithCommit('drained-1', 60_000);
    expect(await indexed('drained-1')).toBe('1234');
    store.ackOutboxSoon('drained-1', outboxIds, [], 1234);
    await store.flushAcks();
    expect(await observer.xlen(callKeys(prefix, 'drained-1').outbox)).toBe(0);
    // the server had never seen the script: it is loaded and run once, off the round trip
    await eventually(async () => ((await indexed('drained-1')) === null ? true : undefined));
    expect(await observer.script('EXISTS', forgetIfDrainedScript.sha)).toEqual([1]);

    const second = await storeWithCommit('drained-2', 60_000);
    second.store.ackOutboxSoon('drained-2', second.outboxIds, [], 1234);
    await second.store.flushAcks();
    expect(await indexed('drained-2')).toBeNull(); // now within the acknowledgement's round trip
    // the empty stream is gone too, and the next commit starts it again
    expect(await observer.exists(callKeys(prefix, 'drained-2').outbox)).toBe(0);
    const next = await second.store.commit({
      ...request('drained-2', [answer('drained-2')]),
      expectedVersion: 1,
    });
    expect(next.kind).toBe('committed');
    expect(await observer.xlen(callKeys(prefix, 'drained-2').outbox)).toBe(1);
  });

  it("leaves it to the next commit's acknowledgement when that commit announces the call again", async () => {
    const { store, outboxIds } = await storeWithCommit('next-1', 60_000);
    store.ackOutboxSoon('next-1', outboxIds, [], 1234);
    const scripts = async () =>
      Number(/cmdstat_evalsha:calls=(\d+)/.exec(await observer.info('commandstats'))?.[1] ?? 0);
    const before = await scripts();
    const next = await store.commit({
      ...request('next-1', [answer('next-1')]),
      expectedVersion: 1,
      announceAt: 5678,
    });
    expect(next.kind).toBe('committed');
    expect(await scripts()).toBe(before + 1); // the commit alone: no forget sent before it
    expect(await indexed('next-1')).toBe('5678');
    expect(await observer.xlen(callKeys(prefix, 'next-1').outbox)).toBe(1); // the old one acked
  });

  /** Commits `callId`, lets `meanwhile` write, acknowledges with score 1234: what is left. */
  async function ackedAfter(callId: string, meanwhile: () => Promise<unknown>) {
    const { store, outboxIds } = await storeWithCommit(callId, 60_000);
    await meanwhile();
    store.ackOutboxSoon(callId, outboxIds, [], 1234);
    await store.flushAcks();
    const outbox = await observer.xlen(callKeys(prefix, callId).outbox);
    return { outbox, score: await indexed(callId) };
  }

  it('keeps it when the call was announced again meanwhile (another commit, maybe elsewhere)', async () => {
    const left = await ackedAfter('again-1', () => observer.zadd(index, 5678.5, 'again-1'));
    expect(left).toEqual({ outbox: 0, score: '5678.5' });
  });

  it('keeps it while the outbox holds entries not acknowledged yet', async () => {
    const left = await ackedAfter('busy-1', () =>
      observer.xadd(callKeys(prefix, 'busy-1').outbox, '*', 'effects', '[]'),
    );
    expect(left).toEqual({ outbox: 1, score: '1234' });
  });

  it('waits for its riders: a failed rider keeps both the entry and the index', async () => {
    const { store, outboxIds } = await storeWithCommit('riding-1', 60_000);
    await observer.set(`${prefix}:riding-1:string`, 'not a sorted set');
    store.ackOutboxSoon(
      'riding-1',
      outboxIds,
      [{ queue: (p) => (p.zadd(`${prefix}:riding-1:string`, 1, 'm'), 1) }],
      1234,
    );
    await store.flushAcks();
    expect(await observer.xlen(callKeys(prefix, 'riding-1').outbox)).toBe(1);
    expect(await indexed('riding-1')).toBe('1234');
  });
});
