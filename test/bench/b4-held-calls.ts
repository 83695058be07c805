/**
 * B4 held-calls: many concurrent established calls, each with its durable keep-alive timer, on
 * a compressed clock (KEEPALIVE_INTERVAL_MS shortened; the simulator ends a call after three
 * intervals without a keep-alive, as Graph does after 45 minutes). One ingress and one worker
 * process on a private redis-server, so its `INFO memory` delta is ours alone.
 *
 * Measured: Redis bytes per call (`used_memory` delta over the calls, and `MEMORY USAGE` of a
 * sample of calls' keys, BullMQ's timer jobs included), the ingress's heap growth per call
 * (b4-heap.ts answers with the heap after a full GC), and missed keep-alives (a gap of more than
 * 1.5 intervals between a call's keep-alives at the simulator's Graph, or a call the simulator
 * ended for want of them). Peer in the same run (b4-peer.ts): one live XState actor of the same
 * machine per call, with its timer, held in memory; heap per call.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort, startPrivateRedis } from '../../src/dev/local-redis.js';
import type { SimCall } from '@cr-orchestrator/teams-simulator';
import { uniquePrefix } from '../helpers/redis.js';
import { testOrchestratorEnv, testSimulator } from '../helpers/system.js';
import {
  INGRESS_MAIN,
  BENCH_IMPORTS,
  openLoop,
  parseInfo,
  ready,
  sleep,
  startRole,
  type RoleProcess,
} from './harness/index.js';

export interface B4Options {
  quick: boolean;
}

export interface B4Result {
  id: 'B4';
  setup: string;
  calls: number;
  established: number;
  keepAliveIntervalMs: number;
  /** `used_memory` delta / established calls. */
  redisBytesPerCall: number;
  /** Mean `MEMORY USAGE` sum of a sample of calls' keys (state, record, outbox, timer jobs…). */
  redisSampleBytesPerCall: number;
  sampleKeysPerCall: number;
  /** The sample's keys by kind (`keyKind`): mean bytes and keys per call, largest first. */
  sampleByKind: { kind: string; bytesPerCall: number; keysPerCall: number }[];
  /**
   * Keys that name no call (indexes, the live feed, BullMQ's sets and event streams), measured
   * mid-hold: `MEMORY USAGE` / established calls, largest first.
   */
  sharedKeys?: { key: string; bytesPerCall: number }[];
  ingressHeapPerCall: number;
  peerHeapPerCall: number;
  /** ingress heap per call / peer heap per call. */
  heapRatio: number;
  keepAlivesSent: number;
  missedKeepAlives: number;
  /** Calls the simulator ended for want of keep-alives (408/8537) or that ended otherwise. */
  endedEarly: number;
  heldMs: number;
  notes: string[];
}

/** The ingress with the heap probe preloaded, and an IPC channel to ask it. */
function startProbedIngress(env: Record<string, string>): {
  child: ChildProcess;
  heap(): Promise<number>;
  stop(): Promise<void>;
} {
  const child = spawn(
    process.execPath,
    ['--expose-gc', ...BENCH_IMPORTS, '--import', './test/bench/b4-heap.ts', INGRESS_MAIN],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let next = 0;
  return {
    child,
    heap: () =>
      new Promise((resolve, reject) => {
        const id = (next += 1);
        const timer = setTimeout(
          () => reject(new Error('the ingress did not report its heap')),
          10_000,
        );
        const onMessage = (m: { type?: string; id?: number; used?: number }) => {
          if (m.type !== 'heap' || m.id !== id) return;
          clearTimeout(timer);
          child.off('message', onMessage);
          resolve(m.used ?? Number.NaN);
        };
        child.on('message', onMessage);
        child.send({ type: 'heap', id });
      }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
      if (!done) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

function runPeer(calls: number): Promise<number> {
  const child = spawn(
    process.execPath,
    ['--expose-gc', ...BENCH_IMPORTS, 'test/bench/b4-peer.ts', String(calls)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`B4 peer exited ${code}`);
        resolve((JSON.parse(out) as { heapPerCall: number }).heapPerCall);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    }),
  );
}

async function usedMemory(redis: Redis): Promise<number> {
  return Number(parseInfo(await redis.info('memory')).get('used_memory'));
}

/** What a key of a call is, from its name (src/redis/keys.ts and BullMQ's job keys). */
function keyKind(key: string, callId: string): string {
  if (key.endsWith(`{${callId}}`)) return 'call hash (snapshot, summary, dedup tokens)';
  if (key.includes(':timer-cancelled:')) return 'timer-cancel memory';
  if (key.endsWith(':history')) return 'history';
  if (key.endsWith(':deferred')) return 'timer starts kept until shortly before due';
  if (key.includes(':graph:de:')) return 'Graph job ids remembered an hour (deduplication keys)';
  if (key.includes(':graph:')) return 'Graph jobs (dropped once done)';
  if (key.includes(':timers:')) return 'timer jobs (pending)';
  return 'other';
}

/** Every key matching `pattern` (and `keep`) with its `MEMORY USAGE` (ioredis's SCAN stream). */
async function* keyBytes(
  redis: Redis,
  pattern: string,
  keep: (key: string) => boolean = () => true,
): AsyncGenerator<[string, number]> {
  for await (const found of redis.scanStream({ match: pattern, count: 1000 })) {
    for (const key of (found as string[]).filter(keep)) {
      yield [key, Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) || 0];
    }
  }
}

/** `MEMORY USAGE` of every key naming the call (its `{callId}`-tagged keys, its jobs), by kind. */
async function callBytes(redis: Redis, callId: string): Promise<Map<string, [number, number]>> {
  const byKind = new Map<string, [bytes: number, keys: number]>();
  for await (const [key, bytes] of keyBytes(redis, `*${callId}*`)) {
    const [b, n] = byKind.get(keyKind(key, callId)) ?? [0, 0];
    byKind.set(keyKind(key, callId), [b + bytes, n + 1]);
  }
  return byKind;
}

/**
 * `MEMORY USAGE` of the keys that name none of `callIds` (neither a `{callId}` tag nor a job of
 * the call), under the run's prefixes, with the prefixes left out of the names.
 */
async function sharedBytes(
  redis: Redis,
  prefix: string,
  callIds: Set<string>,
): Promise<Map<string, number>> {
  const ofCall = (key: string): boolean => {
    const tag = /\{([^}]+)\}/.exec(key.slice(key.indexOf(':')));
    if (tag && callIds.has(tag[1]!)) return true;
    const job = /:(?:graph|timers):(?:de:)?(.+)$/.exec(key)?.[1];
    if (job === undefined) return false;
    for (let dash = job.indexOf('-'); dash > 0; dash = job.indexOf('-', dash + 1)) {
      if (callIds.has(job.slice(0, dash))) return true;
    }
    return false;
  };
  const shared = new Map<string, number>();
  for (const pattern of [`${prefix}:*`, `{${prefix}-q}*`]) {
    for await (const [key, bytes] of keyBytes(redis, pattern, (key) => !ofCall(key))) {
      shared.set(key.replace(`{${prefix}-q}`, '{q}').replace(prefix, 'p'), bytes);
    }
  }
  return shared;
}

/** Calls placed and ended before the baseline, at the run's rate. */
const WARM_CALLS = 200;

/** Keep-alives missing from each call's record at Graph between its answer and `until`. */
function missedKeepAlives(call: SimCall, intervalMs: number, until: number): number {
  const times = [call.answer?.at ?? call.invitedAt, ...call.keepAlives, until];
  let missed = 0;
  for (let i = 1; i < times.length; i += 1) {
    const gap = times[i]! - times[i - 1]!;
    if (gap > 1.5 * intervalMs) missed += Math.ceil(gap / intervalMs) - 1;
  }
  return missed;
}

export async function runB4(options: B4Options): Promise<B4Result> {
  const calls = options.quick ? 1000 : 10_000;
  // Both modes send about 100 keep-alives per second once every call is up (the default
  // interval is 15 min: 10,000 calls send 11 per second; the full run compresses it 9 ×, the
  // quick run 90 ×), and establish calls at a rate a 2-core machine sustains beside them.
  const rate = 50;
  const intervalMs = options.quick ? 10_000 : 100_000;
  const heldMs = intervalMs * 3;
  const notes = options.quick ? [`quick mode: ${calls} calls instead of 10,000`] : ([] as string[]);
  const redisServer = await startPrivateRedis();
  const redis = new Redis(redisServer.url);
  const prefix = uniquePrefix('bench-b4');
  const port = await freePort();
  const sim = await testSimulator(`http://127.0.0.1:${port}/api/calling`, {
    keepAliveTimeoutMs: intervalMs * 3,
    // answer latency is B1's business: a loaded machine must not turn B4 into a deadline test
    answerDeadlineMs: 60_000,
  });
  const env = {
    ...testOrchestratorEnv(sim, prefix, port),
    REDIS_URL: redisServer.url,
    LOG_LEVEL: 'error',
    KEEPALIVE_INTERVAL_MS: String(intervalMs),
    MEDIA_ARRIVAL_TIMEOUT_MS: String(10 * 60_000),
  };
  const ingress = startProbedIngress({ ...env, PORT: String(port) });
  const roles: RoleProcess[] = [startRole('worker-0', 'workers/main.ts', env)];
  try {
    await ready(`http://127.0.0.1:${port}`);
    // Warm the ingress (JWKS, connections, and the JIT) before the baseline: with a single warm
    // call, the code V8 compiles as the held calls come in (about 2.4 MB, a heap snapshot diff
    // of the quick run) was counted as heap per call, 2.4 KB in the quick run.
    const warmCalls = await Promise.all(
      Array.from({ length: WARM_CALLS }, async (_, i) => {
        await sleep((i * 1000) / rate);
        const call = await sim.placeCall({ kind: 'p2p', holdMs: 10 });
        await call.waitFor('terminated', 30_000).catch(() => undefined);
        return call;
      }),
    );
    await sleep(500);
    const heapBefore = await ingress.heap();
    const memBefore = await usedMemory(redis);
    console.log(`B4: establishing ${calls} calls at ${rate}/s, keep-alive every ${intervalMs} ms`);
    const placed: SimCall[] = [];
    await openLoop({
      ratePerSec: rate,
      durationMs: (calls * 1000) / rate,
      fire: async () => {
        const call = await sim.placeCall({ kind: 'p2p' });
        placed.push(call);
        await call.waitFor('established', 30_000).catch(() => undefined);
      },
    });
    const established = placed.filter((c) => c.state === 'established');
    const others = new Map<string, number>();
    for (const c of placed) {
      if (c.state === 'established') continue;
      const why = `${c.state} ${c.result ? `${c.result.code}/${c.result.subcode}` : ''}`.trim();
      others.set(why, (others.get(why) ?? 0) + 1);
    }
    if (others.size > 0)
      notes.push(`not established: ${[...others].map(([k, n]) => `${n} ${k}`).join(', ')}`);
    const heldFrom = Date.now();
    console.log(`B4: ${established.length} established; holding ${heldMs / 1000} s`);
    await sleep(heldMs / 2);
    // measured mid-hold, every call with its keep-alive timer armed
    const memAfter = await usedMemory(redis);
    const heapAfter = await ingress.heap();
    const sample = established.filter((_, i) => i % Math.ceil(established.length / 20) === 0);
    const byKind = new Map<string, [bytes: number, keys: number]>();
    for (const call of sample) {
      for (const [kind, [bytes, keys]] of await callBytes(redis, call.id)) {
        const [b, n] = byKind.get(kind) ?? [0, 0];
        byKind.set(kind, [b + bytes, n + keys]);
      }
    }
    const perCall = (n: number) => n / Math.max(1, sample.length);
    const sampleByKind = [...byKind]
      .map(([kind, [bytes, keys]]) => ({
        kind,
        bytesPerCall: perCall(bytes),
        keysPerCall: perCall(keys),
      }))
      .sort((a, b) => b.bytesPerCall - a.bytesPerCall);
    const sampleBytes = [...byKind.values()].reduce((sum, [bytes]) => sum + bytes, 0);
    const sampleKeys = [...byKind.values()].reduce((sum, [, keys]) => sum + keys, 0);
    const ids = new Set([...warmCalls, ...placed].map((c) => c.id));
    const sharedKeys = [...(await sharedBytes(redis, prefix, ids))]
      .map(([key, bytes]) => ({ key, bytesPerCall: bytes / Math.max(1, established.length) }))
      .sort((a, b) => b.bytesPerCall - a.bytesPerCall);
    await sleep(heldMs / 2);
    const until = Date.now();
    const stillUp = established.filter((c) => c.state === 'established');
    const missed = stillUp.reduce((n, c) => n + missedKeepAlives(c, intervalMs, until), 0);
    const keepAlivesSent = established.reduce((n, c) => n + c.keepAlives.length, 0);
    const peerHeapPerCall = await runPeer(calls);
    const ingressHeapPerCall = (heapAfter - heapBefore) / Math.max(1, established.length);
    await Promise.allSettled(stillUp.map((c) => c.hangUp()));
    return {
      id: 'B4',
      setup:
        `1 ingress (heap probed after GC) + 1 worker process on a private redis-server; ` +
        `${calls} P2P calls established at ${rate}/s and held ${heldMs / 1000} s with ` +
        `KEEPALIVE_INTERVAL_MS=${intervalMs} (the simulator ends a call after ${(intervalMs * 3) / 1000} s ` +
        `without one); peer: ${calls} live XState actors of the call machine with a timer each, ` +
        `in a process of their own`,
      calls,
      established: established.length,
      keepAliveIntervalMs: intervalMs,
      redisBytesPerCall: (memAfter - memBefore) / Math.max(1, established.length),
      redisSampleBytesPerCall: perCall(sampleBytes),
      sampleKeysPerCall: perCall(sampleKeys),
      sampleByKind,
      sharedKeys,
      ingressHeapPerCall,
      peerHeapPerCall,
      heapRatio: ingressHeapPerCall / peerHeapPerCall,
      keepAlivesSent,
      missedKeepAlives: missed,
      endedEarly: established.length - stillUp.length,
      heldMs: until - heldFrom,
      notes,
    };
  } finally {
    await Promise.all([ingress.stop(), ...roles.map((r) => r.stop())]);
    await sim.close();
    redis.disconnect();
    await redisServer.stop();
  }
}
