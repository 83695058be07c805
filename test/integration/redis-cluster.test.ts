/**
 * The end-to-end flow on a three-master Redis Cluster on loopback
 * (`REDIS_CLUSTER=true`, REDIS_URL = the seed nodes). The commit script, the media registry's
 * MULTI and scripts and BullMQ's scripts only run there because every key of a call carries the
 * `{callId}` tag and every queue key the `{prefix-q}` tag; this test checks where the keys
 * actually landed by asking each node.
 */
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callKeys, outboxIndexKey } from '../../src/redis/keys.js';
import { deferLeadMs } from '../../src/calls/outbox-sweeper.js';
import type { CallDetail, CallSummary } from '../../src/admin/call-view.js';
import { readSse } from '../../src/cli/sse.js';
import { createMediaSessionStore } from '../../src/media/session-store.js';
import type { PlaceCallOptions } from '@cr-orchestrator/teams-simulator';
import { startRedisCluster, type LocalCluster } from '../helpers/redis-cluster.js';
import { fakeFirstCommit, keepAliveStart } from '../helpers/commits.js';
import {
  callReaches,
  eventually,
  placeEstablished,
  startSystem,
  type System,
} from '../helpers/system.js';

const ADMIN_TOKEN = 'cluster-admin-token-0123456789';
let cluster: LocalCluster;
let system: System;
/** A plain connection to each master, by port: what that node itself holds. */
const nodes = new Map<number, Redis>();
let slotRanges: { from: number; to: number; port: number }[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
  for (const port of cluster.ports) nodes.set(port, new Redis(port, '127.0.0.1'));
  const slots = await nodes.get(cluster.ports[0]!)!.cluster('SLOTS');
  slotRanges = slots.map(([from, to, master]) => ({ from, to, port: master![1] }));
  system = await startSystem({
    name: 'cluster',
    env: {
      REDIS_URL: cluster.url,
      REDIS_CLUSTER: 'true',
      KEEPALIVE_INTERVAL_MS: '1000',
      ADMIN_TOKEN,
      ADMIN_HEARTBEAT_MS: '500',
    },
  });
}, 60_000);
afterAll(async () => {
  await system?.close();
  await Promise.all([...nodes.values()].map((n) => n.quit()));
  await cluster?.stop();
});

const anyNode = () => nodes.get(cluster.ports[0]!)!;
const slotOf = async (key: string) => Number(await anyNode().cluster('KEYSLOT', key));
const ownerOf = async (key: string) => {
  const slot = await slotOf(key);
  return slotRanges.find((r) => slot >= r.from && slot <= r.to)!.port;
};

/** Every key matching `pattern`, by the port of the node that holds it. */
async function keysByNode(pattern: string): Promise<Map<number, string[]>> {
  const found = new Map<number, string[]>();
  for (const [port, node] of nodes) {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    found.set(port, keys);
  }
  return found;
}

/** A call id whose keys the cluster places on the master at `port`. */
async function callIdOn(port: number, label: string): Promise<string> {
  for (let i = 0; ; i += 1) {
    const id = `cluster-${label}-${i}-${Date.now()}`;
    if ((await ownerOf(callKeys(system.prefix, id).call)) === port) return id;
  }
}

const establishedCall = (opts?: PlaceCallOptions) => placeEstablished(system, opts);

describe('on a three-master Redis Cluster', () => {
  it('connects in cluster mode and reports ready (workers found across the nodes)', async () => {
    expect(system.core.redis).toBeInstanceOf(Cluster);
    expect(slotRanges.map((r) => r.port).sort()).toEqual([...cluster.ports].sort());
    const res = await fetch(`${system.ingress.url}/readyz`);
    expect(res.status).toBe(200);
  });

  it('answers a 1:1 invite before the deadline and reaches established', async () => {
    const call = await establishedCall();
    expect(call.answer!.at - call.invitedAt).toBeLessThan(system.config.answerDeadlineMs);
    expect(
      system.sim.requests.filter((r) => r.route === 'answer' && r.callId === call.id),
    ).toHaveLength(1);
  });

  it('keeps all keys of a call in one slot, and spreads calls over all masters', async () => {
    const calls = await Promise.all(
      cluster.ports.map(async (port, i) => {
        const call = await establishedCall({ callId: await callIdOn(port, String(i)) });
        return { id: call.id, port };
      }),
    );
    const byNode = await keysByNode(`${system.prefix}:call:*`);
    for (const { id, port } of calls) {
      const tagged = (keys: string[]) => keys.filter((k) => k.includes(`{${id}}`));
      const own = tagged(byNode.get(port)!);
      // the hash (with the dedup tokens of the notifications it took)
      expect(own).toContain(callKeys(system.prefix, id).call);
      // its history, appended by the commit script, is in the same slot
      expect(own).toContain(callKeys(system.prefix, id).history);
      for (const [other, keys] of byNode) if (other !== port) expect(tagged(keys)).toEqual([]);
      expect(new Set(await Promise.all(own.map(slotOf))).size).toBe(1);
    }
    const holding = [...byNode].filter(([, keys]) => keys.length > 0).map(([port]) => port);
    expect(holding.sort()).toEqual([...cluster.ports].sort());
  });

  it('serves the operator view: history, the recent-calls list and the live feed', async () => {
    const admin = (path: string, init: RequestInit = {}) =>
      fetch(`${system.ingress.url}/admin/api${path}`, {
        ...init,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
    const call = await establishedCall();
    const controller = new AbortController();
    const seen: string[] = [];
    const feed = (async () => {
      const res = await admin(`/events?callId=${call.id}`, { signal: controller.signal });
      for await (const item of readSse(res.body!)) {
        if (item.kind === 'message' && item.event === 'transition') seen.push(item.data);
      }
    })().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    await call.hangUp();
    await callReaches(system, call.id, 'terminated');
    const detail = (await (await admin(`/calls/${call.id}`)).json()) as CallDetail;
    expect(detail.history.map((h) => h.seq)).toEqual(detail.history.map((_, i) => i + 1));
    expect(detail.history.at(-1)?.to).toBe('terminated');
    const list = (await (await admin('/calls?limit=200')).json()) as { calls: CallSummary[] };
    expect(list.calls.find((c) => c.callId === call.id)).toMatchObject({ live: false });
    await eventually(
      () => (seen.some((d) => d.includes('"to":"terminated"')) ? true : undefined),
      5000,
      'the end on the live feed',
    );
    controller.abort();
    await feed;
  });

  it('keeps every key of both BullMQ queues in one slot', async () => {
    await establishedCall(); // its keepAlive and media-arrival timers are delayed jobs
    const byNode = await keysByNode(`{${system.prefix}-q}*`);
    const holding = [...byNode].filter(([, keys]) => keys.length > 0);
    expect(holding).toHaveLength(1);
    const keys = holding[0]![1];
    expect(keys.some((k) => k.includes(':graph:'))).toBe(true);
    expect(keys.some((k) => k.includes(':timers:'))).toBe(true);
    expect(new Set(await Promise.all(keys.map(slotOf))).size).toBe(1);
  });

  it('reports recording and sends keepAlives through durable timers', async () => {
    const call = await establishedCall();
    await system.core.runtime.applyEvent(call.id, { type: 'MEDIA.FLOWING', at: Date.now() });
    await callReaches(system, call.id, 'recording');
    expect(
      call.recordingStatusUpdates.filter((u) => u.status === 'recording' && u.accepted),
    ).toHaveLength(1);
    await eventually(
      () =>
        system.sim.requests.some(
          (r) => r.route === 'keepAlive' && r.callId === call.id && r.status < 300,
        )
          ? true
          : undefined,
      6000,
      'a keepAlive of the call',
    );
    const ctx = (await system.core.runtime.getCall(call.id))!.snapshot.context;
    expect(ctx.keepAlive.sent).toBeGreaterThanOrEqual(1);
  });

  it('still ignores duplicated notifications', async () => {
    const call = await establishedCall({ duplicateNotifications: true, initialRoster: false });
    await eventually(() =>
      system.sim.deliveries.filter((d) => d.callId === call.id && d.duplicate).length >= 3
        ? true
        : undefined,
    );
    // incoming→answering, answer accepted, establishing, established: four commits, no more
    expect((await system.core.runtime.getCall(call.id))?.version).toBe(4);
    expect(
      system.sim.requests.filter((r) => r.route === 'answer' && r.callId === call.id),
    ).toHaveLength(1);
  });

  it('keeps the media session registry (MULTI, scripts) next to the call', async () => {
    const callId = await callIdOn(cluster.ports[1]!, 'media');
    const sessions = createMediaSessionStore(system.core.redis, system.prefix);
    expect(await sessions.claimNonce(callId, 'n1', 10_000)).toBe(true);
    expect(await sessions.claimNonce(callId, 'n1', 10_000)).toBe(false);
    await sessions.start(callId, 's1', 'media-a');
    await sessions.markLost(callId, 's1', 1000);
    expect(await sessions.resume(callId, 's1', 'media-b', { now: 1000, windowMs: 1000 })).toBe(
      'ok',
    );
    await sessions.markLost(callId, 's1', 2000);
    expect(await sessions.endIfStillLost(callId, 's1', 2000)).toBe(true);
    expect(await sessions.resume(callId, 's1', 'media-a', { now: 2000, windowMs: 1000 })).toBe(
      'ended',
    );
    const keys = callKeys(system.prefix, callId);
    expect(await slotOf(keys.media)).toBe(await slotOf(keys.call));
    expect(await slotOf(keys.mediaNonce('n1'))).toBe(await slotOf(keys.call));
    const held = await nodes.get(cluster.ports[1]!)!.hgetall(keys.media);
    expect(held).toMatchObject({ sessionId: 's1', state: 'ended' });
  });

  it("polls the calls of a media process's sessions together though they live on different masters", async () => {
    const sessions = createMediaSessionStore(system.core.redis, system.prefix);
    const ids = [
      await callIdOn(cluster.ports[0]!, 'poll'),
      await callIdOn(cluster.ports[2]!, 'poll'),
    ];
    await system.core.redis.hset(callKeys(system.prefix, ids[0]!).call, { v: '2', persist: '1' });
    const polls = [
      { callId: ids[0]!, sinceVersion: 2 },
      { callId: ids[1]!, sinceVersion: 0 },
    ];
    expect(await sessions.callStates(polls)).toEqual([
      { persist: { allowed: true, stopGen: undefined }, speakers: 'unchanged' },
      { persist: { allowed: false, stopGen: undefined }, speakers: undefined },
    ]);
  });

  it('hands a deferred timer start to BullMQ through the sweepers, the index on another master', async () => {
    const index = outboxIndexKey(system.prefix);
    const callId = await callIdOn(
      (await ownerOf(index)) === cluster.ports[0] ? cluster.ports[1]! : cluster.ports[0]!,
      'deferred',
    );
    expect(await ownerOf(callKeys(system.prefix, callId).deferred)).not.toBe(await ownerOf(index));
    // committed by a process that died before acknowledging (the ingress and worker sweep)
    const lead = deferLeadMs(system.config.outboxSweepIntervalMs);
    const fireAt = Date.now() + lead + 1500;
    const effect = keepAliveStart(callId, 3, fireAt);
    const { jobId } = effect;
    const committed = await system.core.store.commit(
      fakeFirstCommit(callId, {
        effects: [],
        deferred: [{ score: fireAt - lead - system.config.outboxGraceMs, effect }],
        announceAt: Date.now() - 60_000,
      }),
    );
    expect(committed.kind).toBe('committed');
    expect(await system.core.queues.timers.getJob(jobId)).toBeUndefined();
    const job = await eventually(
      async () => system.core.queues.timers.getJob(jobId),
      lead + 3000,
      'the hand-over',
    );
    expect(Date.now()).toBeLessThan(fireAt);
    // the fake call cannot take the fire: remove the job before it is due
    await job.remove();
    await eventually(
      async () => ((await system.core.store.readDeferred(callId)).length === 0 ? true : undefined),
      1000,
      'the deferred entry dropped',
    );
    await eventually(
      async () => ((await system.core.redis.zscore(index, callId)) === null ? true : undefined),
      3000,
      'the call to leave the index',
    );
  });
});
