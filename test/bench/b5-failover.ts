/**
 * B5 failover: three ingress replicas and two worker processes on a private redis-server; calls
 * arrive open loop until `calls` were placed, each living a short life; mid-burst one ingress
 * replica and one worker process are killed with SIGKILL at the same moment. The simulator
 * plays the load balancer: deliveries go round-robin to the three replicas, and a failed
 * delivery (refused, reset) is retried at once on the next replica.
 *
 * Measured, from the kill:
 * - ingress: every notification whose attempt failed on the dead replica, until its retry was
 *   answered 2xx by a live one;
 * - worker: every job the dead worker held (Graph and timer jobs), until a live worker took it
 *   (the `active` event of the queue's event stream) — the lock lapsing and a stall check are
 *   the whole wait; and of its answer jobs not finished at the kill, until Graph acted on one.
 * Correctness: calls never answered (lost), calls that got more than one answer POST
 * (duplicate), calls not ended normally. Cost: MONITOR on the private server counts every
 * command clients send and BullMQ's lock renewals (extendLock, extendLocks) and stall checks
 * (moveStalledJobsToWait) among them.
 * Published anchor: BullMQ's defaults (lock 30 s, stall check 30 s) recover a dead worker's job
 * after 30–60 s (https://docs.bullmq.io/guide/workers/stalled-jobs).
 */
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { startPrivateRedis } from '../../src/dev/local-redis.js';
import { QUEUE } from '../../src/queues/jobs.js';
import { callKeys, queuePrefix } from '../../src/redis/keys.js';
import type { DeliveryLogEntry, SimCall } from '@cr-orchestrator/teams-simulator';
import { JOB_LOCK_MS, STALL_CHECK_MS } from '../../workers/compose.js';
import { openLoop, sleep, startBenchSystem, summarize, type Summary } from './harness/index.js';

export interface B5Options {
  quick: boolean;
}

export interface B5Result {
  id: 'B5';
  setup: string;
  calls: number;
  /** ms after the first invite when both processes were killed. */
  killedAtMs: number;
  /** Kill → the dead replica's notifications answered by another replica, ms. */
  ingressResume: Summary;
  /** Kill → each job the dead worker held taken by a live worker, ms. */
  workerResume: Summary;
  /** Jobs (Graph and timer) the dead worker held at the kill, and of those never taken again. */
  workerJobsHeld: number;
  workerJobsLost: number;
  /** Kill → the answers at Graph of its answer jobs not finished at the kill, ms. */
  workerAnswers: Summary;
  lostCalls: number;
  /** The orchestrator's own account of each lost call: its state and failure, counted. */
  lostWhy: Record<string, number>;
  duplicateAnswers: number;
  notEndedNormally: number;
  missedDeadlines: number;
  redis: {
    commands: number;
    lockRenewals: number;
    stallChecks: number;
    /** lock renewals / all commands sent by clients. */
    renewalShare: number;
  };
  anchors: string[];
  notes: string[];
}

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/** SHA-1s of BullMQ's lock-renewal and stall-check scripts, as EVALSHA names them. */
async function bullmqShas(): Promise<{ renew: Set<string>; stall: Set<string> }> {
  const dir = new URL('../../node_modules/bullmq/dist/esm/scripts/', import.meta.url);
  const load = async (file: string) =>
    (await import(new URL(file, dir).href)) as Record<string, { content: string }>;
  const one = await load('extendLock-2.js');
  const many = await load('extendLocks-1.js');
  const stall = await load('moveStalledJobsToWait-9.js');
  return {
    renew: new Set([...Object.values(one), ...Object.values(many)].map((s) => sha1(s.content))),
    stall: new Set(Object.values(stall).map((s) => sha1(s.content))),
  };
}

/**
 * MONITOR on a raw socket (one line per command: `+time [db source] "name" "arg"…`; `lua` as
 * the source marks a command run by a script). `onCommand` gets the source, the lower-case
 * command name and its first argument.
 */
async function watchCommands(
  url: string,
  onCommand: (source: string, name: string, first: string) => void,
): Promise<Socket> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  let rest = '';
  socket.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString('latin1')).split('\r\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^\+[\d.]+ \[\d+ ([^\]]+)\] "([^"]*)"(?: "([^"]*)")?/.exec(line);
      if (m) onCommand(m[1]!, m[2]!.toLowerCase(), m[3] ?? '');
    }
  });
  socket.write('MONITOR\r\n');
  return socket;
}

/** How long the fake Graph takes per action: long enough that a worker always holds jobs. */
const GRAPH_LATENCY_MS = 150;

export async function runB5(options: B5Options): Promise<B5Result> {
  const calls = 1000;
  // Failover, not capacity (B1), is measured: at 100 calls/s five role processes, the simulator
  // and Redis saturate a 2-core machine (most answers later than 5 s before any kill), so the
  // full run offers 50 calls/s.
  const rate = options.quick ? 20 : 50;
  const holdMs = 2000;
  const notes: string[] = [];
  if (options.quick) notes.push(`quick mode: calls arrive at ${rate}/s instead of 50/s`);
  notes.push(
    "the simulator's answer deadline is raised to 60 s; answers later than 5 s are counted",
  );
  const server = await startPrivateRedis();
  const shas = await bullmqShas();
  const system = await startBenchSystem({
    name: 'b5',
    redisUrl: server.url,
    replicas: 3,
    workers: 2,
    // failover, not answer latency (B1), is measured: an overloaded machine must not end calls
    // Graph takes GRAPH_LATENCY_MS per action, so each worker holds answer jobs when it dies
    sim: {
      deliveryRetry: { attempts: 3 },
      answerDeadlineMs: 60_000,
      graphLatencyMs: GRAPH_LATENCY_MS,
    },
  });
  const queueConnection = new Redis(server.url, { maxRetriesPerRequest: null });
  const queueNames = [QUEUE.graph, QUEUE.timers];
  const queues = queueNames.map(
    (name) => new Queue(name, { connection: queueConnection, prefix: queuePrefix(system.prefix) }),
  );
  // when each job was taken after the kill, from the queues' event streams (Redis's clock: the
  // stream id's milliseconds); listened to live since the streams keep only their last entries
  const takenAt = new Map<string, number>();
  let killAt = 0;
  const events = queueNames.map(
    (name) =>
      new QueueEvents(name, {
        connection: { url: server.url },
        prefix: queuePrefix(system.prefix),
      }),
  );
  events.forEach((e, i) =>
    e.on('active', ({ jobId }, id) => {
      const key = `${queueNames[i]} ${jobId}`;
      const at = Number(id.split('-')[0]);
      if (killAt > 0 && at >= killAt && !takenAt.has(key)) takenAt.set(key, at);
    }),
  );
  await Promise.all(events.map((e) => e.waitUntilReady()));
  const counts = { commands: 0, renewals: 0, stall: 0 };
  try {
    const { sim } = system;
    const placed: SimCall[] = [];
    const started = Date.now();
    const killAfterMs = (calls / rate / 2) * 1000;
    const ingress = system.roles.find((r) => r.name === 'ingress-1')!;
    const worker = system.roles.find((r) => r.name === 'worker-0')!;
    let held: { key: string; name: string; callId: string }[] = [];
    const killer = (async () => {
      // MONITOR costs Redis and this process dearly: a 3 s sample in steady state only
      await sleep(killAfterMs - 3500);
      const monitor = await watchCommands(server.url, (source, name, first) => {
        if (source === 'lua') return;
        counts.commands += 1;
        if (name !== 'evalsha') return;
        if (shas.renew.has(first)) counts.renewals += 1;
        else if (shas.stall.has(first)) counts.stall += 1;
      });
      await sleep(3000);
      monitor.destroy();
      const deadName = `${hostname()}:${worker.child.pid}`;
      const heldBy = async () =>
        (
          await Promise.all(
            queues.map(async (q) =>
              (await q.getActive())
                .filter((j) => j.processedBy === deadName)
                .map((j) => ({
                  key: `${q.name} ${j.id}`,
                  name: j.name,
                  callId: (j.data as { callId: string }).callId,
                })),
            ),
          )
        ).flat();
      // what it held when it died: its jobs still active just after the kill (their locks
      // last at least half a lock longer, so no stall check can have handed one on yet)
      killAt = Date.now();
      await Promise.all([ingress.kill(), worker.kill()]);
      held = await heldBy();
      console.log(`B5: killed ingress-1 and worker-0 (kill -9) ${killAt - started} ms in`);
    })();
    console.log(`B5: ${calls} calls at ${rate}/s over 3 replicas and 2 workers`);
    await openLoop({
      ratePerSec: rate,
      durationMs: (calls * 1000) / rate,
      fire: async (i) => {
        const call = await sim.placeCall({ kind: i % 3 === 0 ? 'meeting' : 'p2p', holdMs });
        placed.push(call);
        await call.waitFor('terminated', 30_000).catch(() => undefined);
      },
    });
    await killer;
    const ids = new Set(placed.map((c) => c.id));
    const ingressResume: number[] = [];
    // the ingress's share: notifications whose attempt failed on the dead replica, until a
    // retry on a live one was answered 2xx (a notification's attempts share call, kind, state)
    const deadUrl = `${system.ingressUrls[1]}/api/calling`;
    const chains = new Map<string, DeliveryLogEntry[]>();
    for (const d of sim.deliveries) {
      if (d.callId === undefined || !ids.has(d.callId)) continue;
      const key = `${d.callId} ${d.kind} ${d.state ?? ''} ${d.duplicate}`;
      const chain = chains.get(key) ?? [];
      if (d.attempt === 1) chain.length = 0;
      chain.push(d);
      chains.set(key, chain);
      if (d.attempt > 1 && d.status >= 200 && d.status < 300) {
        const failed = chain.find((c) => c.url === deadUrl && c.status === 0);
        if (failed && failed.at + failed.latencyMs >= killAt)
          ingressResume.push(d.at + d.latencyMs - Math.max(killAt, failed.at));
      }
    }
    // the worker's share: every job it held when it died, until a live worker took it; and its
    // answer jobs not finished at the kill (Graph had not acted yet), until Graph acted on one
    const workerResume = held.flatMap((j) => {
      const at = takenAt.get(j.key);
      return at === undefined ? [] : [at - killAt];
    });
    const workerLost = held.filter((j) => !takenAt.has(j.key)).length;
    const byId = new Map(placed.map((c) => [c.id, c]));
    const workerAnswers = held
      .filter((j) => j.name === 'answer' && (byId.get(j.callId)?.answer?.at ?? Infinity) > killAt)
      .map((j) => (byId.get(j.callId)?.answer?.at ?? Infinity) - killAt);
    const answers = new Map<string, number>();
    for (const r of sim.requests)
      if (r.route === 'answer' && r.callId && ids.has(r.callId))
        answers.set(r.callId, (answers.get(r.callId) ?? 0) + 1);
    const lostCalls = placed.filter((c) => !c.answer);
    const lost = lostCalls.length;
    const lostWhy: Record<string, number> = {};
    for (const c of lostCalls) {
      const [state, sum] = await queueConnection.hmget(
        callKeys(system.prefix, c.id).call,
        'state',
        'sum',
      );
      const failure = sum
        ? (JSON.parse(sum) as { failure?: { text?: string } }).failure
        : undefined;
      const why = `${state ?? 'never committed'}${failure?.text ? `: ${failure.text}` : ''}`;
      lostWhy[why] = (lostWhy[why] ?? 0) + 1;
    }
    const notEnded = placed.filter(
      (c) => c.state !== 'terminated' || (c.result?.code ?? 0) >= 400,
    ).length;
    const missed = placed.filter((c) => !c.answer || c.answer.at - c.invitedAt > 5000).length;
    return {
      id: 'B5',
      setup:
        `3 ingress + 2 worker processes on a private redis-server; ${calls} calls at ${rate}/s ` +
        `(1 in 3 a meeting, ${holdMs} ms hold); ingress-1 and worker-0 killed with SIGKILL ` +
        `${killAfterMs / 1000} s in; deliveries round-robin, a failed one retried on the next ` +
        `replica; Graph acts in ${GRAPH_LATENCY_MS} ms; job locks ${JOB_LOCK_MS} ms, stall ` +
        `checks every ${STALL_CHECK_MS} ms`,
      calls: placed.length,
      killedAtMs: killAt - started,
      ingressResume: summarize(ingressResume),
      workerResume: summarize(workerResume),
      workerJobsHeld: held.length,
      workerJobsLost: workerLost,
      workerAnswers: summarize(workerAnswers.filter(Number.isFinite)),
      lostCalls: lost,
      lostWhy,
      duplicateAnswers: [...answers.values()].filter((n) => n > 1).length,
      notEndedNormally: notEnded,
      missedDeadlines: missed,
      redis: {
        commands: counts.commands,
        lockRenewals: counts.renewals,
        stallChecks: counts.stall,
        renewalShare: counts.renewals / Math.max(1, counts.commands),
      },
      anchors: [
        "BullMQ's defaults (lockDuration 30 s, stalledInterval 30 s): a dead worker's job " +
          'resumes after 30–60 s (https://docs.bullmq.io/guide/workers/stalled-jobs)',
        "Teams' answer deadline for a policy recorder: 5 s",
      ],
      notes,
    };
  } finally {
    await Promise.all([...queues, ...events].map((q) => q.close()));
    queueConnection.disconnect();
    await system.close();
    await server.stop();
  }
}
