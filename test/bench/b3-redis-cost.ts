/**
 * B3 redis-cost: Redis round trips and commands per event of a call's life, driven in-process
 * through `applyEvent` (the one path every notification and job result takes) with the events
 * the ingress would dispatch. Call state and BullMQ live on two private Redis servers so each
 * server's `INFO commandstats` delta is clean: the state server sees only our commands (the
 * commit script's inner commands included); the queue server sees BullMQ's plus the small
 * commands our producer sends on the queue connection (timer-cancel markers, the live-calls
 * index), which the client-side count attributes by key. The split changes no count: every
 * command goes to one server or the other, and none reads what the other server holds in a way
 * that changes what is sent next on this path. Peer in the same run: lock → GET → SET → unlock
 * (b3-naive-peer.ts). The counts are deterministic (no timing); the 3 repeats only show that.
 */
import { Redis } from 'ioredis';
import type { CallEvent } from '../../machines/call.js';
import { pino } from 'pino';
import { outboxIndexKey, queuePrefix } from '../../src/redis/keys.js';
import {
  deferLeadMs,
  startOutboxSweeper,
  SWEEP_GRACE_MS_DEFAULT,
  SWEEP_INTERVAL_MS_DEFAULT,
  type OutboxSweeperOptions,
} from '../../src/calls/outbox-sweeper.js';
import { createCallRuntime } from '../../src/calls/runtime.js';
import { createSnapshotStore } from '../../src/calls/snapshot-store.js';
import { transitionFeed } from '../../src/calls/transition-feed.js';
import { startPrivateRedis, type LocalRedis } from '../../src/dev/local-redis.js';
import { createEffectQueues } from '../../src/queues/producer.js';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';
import { connectRedis } from '../../src/redis/client.js';
import { incoming, participant } from '../helpers/call-events.js';
import { naivePeer } from './b3-naive-peer.js';
import {
  add,
  commandStats,
  countWire,
  delta,
  firstKey,
  repeated,
  total,
  type Tally,
  type WireCounter,
} from './harness/index.js';

export interface B3Options {
  quick: boolean;
}

/** Per event (average over the calls), by command name. */
export interface EventCost {
  event: string;
  /** Our commands on the wire, by name. */
  wire: Record<string, number>;
  /** Our round trips: a command on its own, or a pipeline of several. */
  roundTrips: number;
  /** Our commands as the server counts them (scripts' inner commands included). */
  server: Record<string, number>;
  /** BullMQ's round trips and its commands on its server, for information. */
  bullmqWire: number;
  bullmqServer: number;
}

export interface B3Side {
  /** Averages over every event of a call's life. */
  roundTripsPerEvent: number;
  wireCommandsPerEvent: number;
  serverCommandsPerEvent: number;
  /** Averages over the webhook notifications only (the job result left out). */
  roundTripsPerNotification: number;
  serverCommandsPerNotification: number;
  bullmqRoundTripsPerEvent: number;
  bullmqServerCommandsPerEvent: number;
  /** Commands sent inside pipelines on the state server's connection, over the whole run. */
  pipelined: number;
  byEvent: EventCost[];
}

/** What the outbox sweeper's passes cost afterwards, in one sweeping process. */
export interface SweeperCost {
  /** Calls left in the outbox index by the run (every call whose events had effects). */
  indexed: number;
  roundTripsPerEvent: number;
  serverCommandsPerEvent: number;
}

export interface B3Run {
  calls: number;
  eventsPerCall: number;
  ours: B3Side;
  peer: B3Side;
  /** Happy-path cost of the outbox sweeper, per sweeping process (every ingress and worker). */
  sweeper: SweeperCost;
}

export interface B3Result {
  id: 'B3';
  setup: string;
  median: B3Run;
  runs: B3Run[];
  /** What one round trip costs the client: the price of each one counted above. */
  roundTripCpu: RoundTripCpu;
}

/** Client CPU (µs, user + kernel) of one PING round trip over ioredis to the state server. */
export interface RoundTripCpu {
  pings: number;
  /** One after the other: the process stays awake. */
  backToBackUs: number;
  /** 2 ms apart: the process sleeps between them and is woken by each reply, as at low load. */
  spacedUs: number;
}

async function roundTripCpu(url: string, pings: number): Promise<RoundTripCpu> {
  const redis = new Redis(url);
  try {
    await redis.ping();
    const perPing = async (gapMs: number): Promise<number> => {
      const from = process.cpuUsage();
      for (let i = 0; i < pings; i += 1) {
        await redis.ping();
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
      const used = process.cpuUsage(from);
      return Math.round((used.user + used.system) / pings);
    };
    const backToBackUs = await perPing(0);
    return { pings, backToBackUs, spacedUs: await perPing(2) };
  } finally {
    redis.disconnect();
  }
}

/** One call's life as the ingress and the graph worker would apply it; `job` = a job result. */
/**
 * The call runtime as src/roles/core.ts composes it: the producer's own commands on the state
 * connection, every commit published to the operator's live feed, timer starts due much later
 * kept with the call (the default sweep timing) until a sweeper hands them over.
 */
export function benchRuntime(redis: Redis, queueConnection: Redis, prefix: string) {
  const store = createSnapshotStore(redis, { prefix });
  const queues = createEffectQueues(queueConnection, prefix, Date.now, redis);
  queues.graph.on('error', () => undefined);
  queues.timers.on('error', () => undefined);
  const runtime = createCallRuntime({
    prefix,
    store,
    queues,
    feed: transitionFeed(redis, prefix, 10_000, store),
    deferTimers: {
      leadMs: deferLeadMs(SWEEP_INTERVAL_MS_DEFAULT),
      graceMs: SWEEP_GRACE_MS_DEFAULT,
    },
  });
  return { store, queues, runtime };
}

/** A call's whole life, as B3 and apply-cost.ts drive it: its events, the job result marked. */
export function life(callId: string): { event: CallEvent; job?: boolean }[] {
  const at = Date.now();
  const roster = [participant('user-a', 1), participant('user-b', 2), participant('bot', 3)];
  return [
    { event: { ...incoming(callId, at), invite: { callId, tenantId: 't1', kind: 'p2p' } } },
    { event: { type: 'GRAPH.ANSWER_ACCEPTED', at: at + 20, attempts: 1 }, job: true },
    { event: { type: 'CALL.ESTABLISHING', at: at + 50 } },
    { event: { type: 'CALL.ESTABLISHED', at: at + 80 } },
    { event: { type: 'CALL.ROSTER', at: at + 90, update: { mode: 'full', participants: roster } } },
    { event: { type: 'CALL.TERMINATING', at: at + 200 } },
    {
      event: {
        type: 'CALL.TERMINATED',
        at: at + 220,
        resultInfo: { code: 200, subcode: 4097, message: 'The other participant ended the call.' },
      },
    },
  ];
}

const toRecord = (tally: Tally, per: number): Record<string, number> =>
  Object.fromEntries(
    [...tally].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, v / per]),
  );

interface Servers {
  state: LocalRedis;
  queue: LocalRedis;
}

async function measure(servers: Servers, calls: number, run: number): Promise<B3Run> {
  const prefix = `b3r${run}`;
  const redis = connectRedis(servers.state.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeoutMs: 1000,
  }) as Redis;
  const queueConnection = connectRedis(servers.queue.url) as Redis;
  const stateObserver = new Redis(servers.state.url);
  const queueObserver = new Redis(servers.queue.url);
  const stateWire = countWire(redis, () => 'ours');
  // BullMQ's keys all start with its hash-tagged prefix; ours on this server are call keys
  const queueWire = countWire(queueConnection, (name, args) =>
    firstKey(name, args)?.startsWith(queuePrefix(prefix)) === false ? 'ours' : 'bullmq',
  );
  const meter: Meter = { stateObserver, queueObserver, stateWire, queueWire };
  // the runtime's connection fails commands instead of queueing them (as in src/roles/core.ts)
  if (redis.status !== 'ready') await new Promise((r) => redis.once('ready', r));
  const { store, queues, runtime } = benchRuntime(redis, queueConnection, prefix);
  const peer = naivePeer(redis, `${prefix}-peer`);
  try {
    // warm-up: script loads (EVALSHA's first NOSCRIPT), BullMQ's connection checks
    for (const { event } of life(`${prefix}-warm`)) {
      await runtime.activeCallCount();
      await runtime.applyEvent(`${prefix}-warm`, event, { dedupId: `warm-${event.type}` });
      await peer(`${prefix}-warm`, event);
    }
    const sides = { ours: new SideTally(meter), peer: new SideTally(meter) };
    stateWire.enabled = true;
    queueWire.enabled = true;
    for (let c = 0; c < calls; c += 1) {
      const callId = `${prefix}-call-${c}`;
      for (const { event, job } of life(callId)) {
        await sides.ours.step(event.type, job === true, async () => {
          // the ingress asks for the live-call count before deciding an invite only under a
          // capacity limit (http/dispatch.ts); the default policy has none
          if (event.type === 'CALL.INCOMING' && DEFAULT_POLICY.maxActiveCalls !== undefined)
            await runtime.activeCallCount();
          const result = await runtime.applyEvent(callId, event, {
            dedupId: job ? `job-${callId}-answer-g1-${event.type}` : `n-${callId}-${event.type}`,
          });
          if (result.outcome !== 'committed')
            throw new Error(`B3: ${event.type} was ${result.outcome}, expected a commit`);
        });
        await sides.peer.step(event.type, job === true, () => peer(callId, event));
      }
    }
    const ours = sides.ours.result(calls);
    // the last acknowledgement still waits for a commit to ride with (one in the whole run)
    stateWire.enabled = false;
    await store.flushAcks();
    const peerSide = sides.peer.result(calls);
    return {
      calls,
      eventsPerCall: life('x').length,
      ours,
      peer: peerSide,
      sweeper: await sweeperCost(meter, { redis, prefix, store, queues }, calls * life('x').length),
    };
  } finally {
    stateWire.enabled = false;
    queueWire.enabled = false;
    await queues.close();
    await Promise.all(
      [redis, queueConnection, stateObserver, queueObserver].map((c) =>
        c.quit().catch(() => c.disconnect()),
      ),
    );
  }
}

/**
 * Every commit with effects announces its call in the outbox index first; a sweep pass (in
 * each ingress and worker process) later reads the call's outbox and forgets it. One process's
 * passes over everything the run left, counted like the events.
 */
async function sweeperCost(
  meter: Meter,
  deps: Pick<OutboxSweeperOptions, 'redis' | 'prefix' | 'store' | 'queues'>,
  events: number,
): Promise<SweeperCost> {
  const { stateObserver, stateWire, queueWire } = meter;
  stateWire.enabled = false;
  const indexed = await deps.redis.zcard(outboxIndexKey(deps.prefix));
  const sweeper = startOutboxSweeper({
    ...deps,
    logger: pino({ level: 'silent' }),
    intervalMs: 3_600_000, // passes are run by hand below
    graceMs: 0,
    batch: SWEEP_BATCH,
  });
  try {
    const before = await commandStats(stateObserver);
    stateWire.reset();
    queueWire.reset();
    stateWire.enabled = true;
    for (let pass = 0; pass < Math.ceil(indexed / SWEEP_BATCH); pass += 1) await sweeper.sweep();
    stateWire.enabled = false;
    const server = delta(await commandStats(stateObserver), before);
    const wire = stateWire.trips.get('ours') ?? 0;
    return {
      indexed,
      roundTripsPerEvent: wire / events,
      serverCommandsPerEvent: total(server) / events,
    };
  } finally {
    await sweeper.close();
  }
}

/** The sweeper's default batch (calls per pass). */
const SWEEP_BATCH = 200;

interface Meter {
  stateObserver: Redis;
  queueObserver: Redis;
  stateWire: WireCounter;
  queueWire: WireCounter;
}

/** Accumulates per-event-type costs for one side (ours or the peer). */
class SideTally {
  private readonly events = new Map<
    string,
    {
      job: boolean;
      wire: Tally;
      trips: number;
      server: Tally;
      bullmqWire: number;
      bullmqServer: number;
    }
  >();

  /** Commands sent inside pipelines on the state server's connection (ours alone). */
  private pipelined = 0;

  constructor(private readonly meter: Meter) {}

  async step(type: string, job: boolean, apply: () => Promise<void>): Promise<void> {
    const { stateObserver, queueObserver, stateWire, queueWire } = this.meter;
    const [s0, q0] = await Promise.all([commandStats(stateObserver), commandStats(queueObserver)]);
    stateWire.reset();
    queueWire.reset();
    await apply();
    const [s1, q1] = await Promise.all([commandStats(stateObserver), commandStats(queueObserver)]);
    let entry = this.events.get(type);
    if (!entry) {
      entry = {
        job,
        wire: new Map(),
        trips: 0,
        server: new Map(),
        bullmqWire: 0,
        bullmqServer: 0,
      };
      this.events.set(type, entry);
    }
    const oursOnQueue = queueWire.tallies.get('ours') ?? new Map<string, number>();
    for (const [name, n] of stateWire.tallies.get('ours') ?? []) add(entry.wire, name, n);
    for (const [name, n] of oursOnQueue) add(entry.wire, name, n);
    for (const [name, n] of delta(s1, s0)) add(entry.server, name, n);
    // our marker SET/EXISTS are plain commands: one server command each, on the queue server
    for (const [name, n] of oursOnQueue) add(entry.server, name, n);
    entry.trips += (stateWire.trips.get('ours') ?? 0) + (queueWire.trips.get('ours') ?? 0);
    entry.bullmqWire += queueWire.trips.get('bullmq') ?? 0;
    entry.bullmqServer += total(delta(q1, q0)) - total(oursOnQueue);
    this.pipelined += stateWire.pipelined;
  }

  result(calls: number): B3Side {
    const byEvent: EventCost[] = [...this.events].map(([event, e]) => ({
      event,
      wire: toRecord(e.wire, calls),
      roundTrips: e.trips / calls,
      server: toRecord(e.server, calls),
      bullmqWire: e.bullmqWire / calls,
      bullmqServer: e.bullmqServer / calls,
    }));
    const all = [...this.events.values()];
    const notifications = all.filter((e) => !e.job);
    const sum = (list: typeof all, f: (e: (typeof all)[number]) => number) =>
      list.reduce((s, e) => s + f(e), 0) / (list.length * calls);
    return {
      roundTripsPerEvent: sum(all, (e) => e.trips),
      wireCommandsPerEvent: sum(all, (e) => total(e.wire)),
      serverCommandsPerEvent: sum(all, (e) => total(e.server)),
      roundTripsPerNotification: sum(notifications, (e) => e.trips),
      serverCommandsPerNotification: sum(notifications, (e) => total(e.server)),
      bullmqRoundTripsPerEvent: sum(all, (e) => e.bullmqWire),
      bullmqServerCommandsPerEvent: sum(all, (e) => e.bullmqServer),
      pipelined: this.pipelined,
      byEvent,
    };
  }
}

export async function runB3(options: B3Options): Promise<B3Result> {
  const calls = options.quick ? 200 : 1000;
  const servers: Servers = { state: await startPrivateRedis(), queue: await startPrivateRedis() };
  try {
    const repeats = await repeated(
      3,
      async (i) => {
        const run = await measure(servers, calls, i);
        console.log(
          `B3: run ${i + 1}: ours ${run.ours.roundTripsPerEvent.toFixed(2)} round trips, ` +
            `${run.ours.serverCommandsPerEvent.toFixed(2)} server commands per event; ` +
            `peer ${run.peer.roundTripsPerEvent.toFixed(2)} / ${run.peer.serverCommandsPerEvent.toFixed(2)}`,
        );
        return run;
      },
      (r) => r.ours.serverCommandsPerEvent,
    );
    return {
      id: 'B3',
      setup:
        `${calls} calls × ${life('x').length} events (invite, answer accepted [job result], ` +
        `establishing, established, full roster of 3, terminating, terminated), sequential, ` +
        `through createCallRuntime in the bench process; call state and BullMQ on two private ` +
        `redis-servers; the default policy (no capacity limit: a limit adds the live-call count, ` +
        `one ZCARD round trip per invite)`,
      median: repeats.median,
      runs: repeats.runs,
      roundTripCpu: await roundTripCpu(servers.state.url, options.quick ? 1000 : 5000),
    };
  } finally {
    await Promise.all([servers.state.stop(), servers.queue.stop()]);
  }
}
