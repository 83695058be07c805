/**
 * The live feed's connections on a real socket and a real Redis: a client that goes away frees
 * its blocking Redis connection at once, the per-process cap answers 503, a resume from an id
 * older than the replay bound says `truncated`, a client told the stream is open misses nothing
 * committed afterwards (even when the feed's first read is slow), and `closeAll` ends every feed.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTransitionStreams,
  type TransitionStreams,
} from '../../src/admin/transition-streams.js';
import { transitionFeed } from '../../src/calls/transition-feed.js';
import { readSse, type SseItem } from '../../src/cli/sse.js';
import { createApp } from '../../src/http/app.js';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';
import { fakeRuntime, fakeVerifier } from '../helpers/fakes.js';
import { deleteByPrefix, plainRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { eventually } from '../helpers/system.js';

const prefix = uniquePrefix('admin-events');
const TOKEN = 'admin-events-token-0123456789';
const opened: Redis[] = [];
let redis: Redis;
let streams: TransitionStreams;
let server: ServerType;
let url: string;
/** Delay of each feed connection's first read (where it fixes its start point), in ms. */
let slowStartMs = 0;

beforeAll(async () => {
  redis = plainRedis();
  streams = createTransitionStreams({
    prefix,
    heartbeatMs: 200,
    replayMax: 5,
    connect: () => {
      const connection = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
      opened.push(connection);
      const delay = slowStartMs;
      if (delay > 0) {
        const read = connection.xrevrange.bind(connection);
        connection.xrevrange = (async (...args: Parameters<typeof read>) => {
          await new Promise((resolve) => setTimeout(resolve, delay));
          return read(...args);
        }) as typeof read;
      }
      return connection;
    },
  });
  const app = createApp({
    runtime: fakeRuntime(),
    policy: DEFAULT_POLICY,
    answerDeadlineMs: 5000,
    callSettings: { keepAliveIntervalMs: 60_000, mediaArrivalTimeoutMs: 10_000, effectBudgetMs: 1 },
    rosterMode: 'full',
    verifier: fakeVerifier({}),
    maxBodyBytes: 4096,
    adminToken: TOKEN,
    adminApi: {
      reader: {
        summary: () => Promise.resolve(undefined),
        detail: () => Promise.resolve(undefined),
      },
      list: () => Promise.resolve({ calls: [] }),
      streams,
      maxStreams: 2,
    },
    readiness: () => Promise.resolve({ ready: true, checks: {} }),
    logger: pino({ level: 'silent' }),
  });
  server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/api/events`;
});
afterAll(async () => {
  await streams.closeAll();
  server.close();
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

function open(headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const items: SseItem[] = [];
  let status = 0;
  const done = (async () => {
    const res = await fetch(url, {
      signal: controller.signal,
      headers: { authorization: `Bearer ${TOKEN}`, ...headers },
    });
    status = res.status;
    if (res.status !== 200) return;
    for await (const item of readSse(res.body!)) items.push(item);
  })().catch(() => undefined);
  return { items, status: () => status, done, close: () => controller.abort() };
}

describe('the live feed on a real socket', () => {
  it('frees the Redis connection of a client that goes away, and caps open feeds', async () => {
    const first = open();
    const second = open();
    await eventually(() => (streams.open === 2 ? true : undefined), 5000, 'two open feeds');
    const third = open();
    await third.done;
    expect(third.status()).toBe(503);
    first.close();
    await eventually(() => (streams.open === 1 ? true : undefined), 5000, 'the feed to end');
    await eventually(
      () => (opened[0]!.status === 'end' ? true : undefined),
      5000,
      'its connection closed',
    );
    // heartbeats keep the other one open
    await eventually(
      () =>
        second.items.some((i) => i.kind === 'comment' && i.text === 'heartbeat') ? true : undefined,
      3000,
    );
    second.close();
    await eventually(() => (streams.open === 0 ? true : undefined), 5000, 'no open feeds');
  });

  it('says the stream is open only once its start point is fixed: nothing after it is missed', async () => {
    slowStartMs = 300;
    const feed = open();
    await eventually(
      () =>
        feed.items.some((i) => i.kind === 'comment' && i.text === 'connected') ? true : undefined,
      5000,
      'the stream to open',
    );
    slowStartMs = 0;
    await transitionFeed(redis, prefix, 1000).publish({
      callId: 'c0',
      tenantId: 't',
      live: true,
      seq: 1,
      event: 'E',
      from: 'a',
      to: 'b',
      at: 1,
    });
    const got = await eventually(
      () => feed.items.find((i) => i.kind === 'message' && i.event === 'transition'),
      3000,
      'the transition committed right after the stream opened',
    );
    expect(got.kind === 'message' && (JSON.parse(got.data) as { callId: string }).callId).toBe(
      'c0',
    );
    feed.close();
    await eventually(() => (streams.open === 0 ? true : undefined), 5000, 'no open feeds');
  });

  it('replays at most the newest entries after an old id, saying some were missed', async () => {
    const feed = transitionFeed(redis, prefix, 1000);
    const ids: string[] = [];
    for (let seq = 1; seq <= 8; seq += 1) {
      ids.push(
        await feed.publish({
          callId: 'c1',
          tenantId: 't',
          live: true,
          seq,
          event: 'E',
          from: 'a',
          to: 'b',
          at: seq,
        }),
      );
    }
    const resumed = open({ 'last-event-id': ids[1]! });
    await eventually(
      () =>
        resumed.items.filter((i) => i.kind === 'message' && i.event === 'transition').length >= 5
          ? true
          : undefined,
      5000,
      'the replay',
    );
    const messages = resumed.items.flatMap((i) => (i.kind === 'message' ? [i] : []));
    expect(messages[0]!.event).toBe('truncated');
    expect(messages.slice(1).map((m) => (JSON.parse(m.data) as { seq: number }).seq)).toEqual([
      4, 5, 6, 7, 8,
    ]);
    // a resume inside the bound misses nothing and says nothing
    const recent = open({ 'last-event-id': ids[5]! });
    await eventually(
      () => (recent.items.filter((i) => i.kind === 'message').length >= 2 ? true : undefined),
      5000,
    );
    const got = recent.items.flatMap((i) => (i.kind === 'message' ? [i] : []));
    expect(got.map((m) => m.event)).toEqual(['transition', 'transition']);
    expect(got.map((m) => m.id)).toEqual([ids[6], ids[7]]);
    // closeAll ends both, and no new feed opens after it
    await streams.closeAll();
    await resumed.done;
    await recent.done;
    expect(streams.open).toBe(0);
    const late = open();
    await late.done;
    expect(late.status()).toBe(503);
  });
});
