/**
 * B1 answer-latency: incoming-call notification sent by the simulator → answer POST received by
 * its fake Graph (`call.answer.at - call.invitedAt`), open loop at fixed rates. The system: two
 * ingress replicas and one worker process (as test/chaos/replicas.test.ts runs them), the
 * simulator spreading deliveries round-robin, real Redis. The floor (b1-floor.ts) runs in a
 * process of its own (b1-floor-main.ts) against a simulator of its own, both simulators in this
 * process; floor and system runs alternate within each repeat. CPU per call is each serving
 * process's CPU from a run's first arrival until all its calls ended, over the calls placed.
 *
 * Every call lives as Teams would drive it — invite, establishing, established, roster, a short
 * hold, remote hang-up — so the webhook load around the invites is realistic and the system
 * does not accumulate live calls. For the system's calls, the answer job's `added` and `active`
 * events in the graph queue's event stream (stamped by Redis's clock: finished Graph jobs are
 * dropped at once, so their hashes cannot be read afterwards) split each answer's latency into
 * ingress (invite → job added), queue (added → worker took it) and worker (taken → answer at
 * Graph).
 */
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { queuePrefix } from '../../src/redis/keys.js';
import { freePort } from '../../src/dev/local-redis.js';
import type { SimCall, Simulator } from '@cr-orchestrator/teams-simulator';
import { deleteByPrefix, uniquePrefix } from '../helpers/redis.js';
import { testOrchestratorEnv, testSimulator } from '../helpers/system.js';
import { CHART_QUANTILES } from './chart.js';
import {
  bounded,
  meterCpu,
  openLoop,
  quantile,
  ready,
  redisPid,
  repeated,
  sleep,
  startRole,
  summarize,
  type CpuTime,
  type RoleProcess,
  type Summary,
} from './harness/index.js';

/** Teams' answer deadline for a policy recorder. */
const DEADLINE_MS = 5000;
/** Established → remote hang-up; short, so live calls stay few. */
const HOLD_MS = 100;
/** The rate of the warm-up before the first measured rate: below saturation on a 2-core machine. */
const WARM_RATE = 50;

export interface B1Options {
  quick: boolean;
  redisUrl: string;
  /** Extra environment of the orchestrator's processes (B9 sets tracing here). */
  env?: Record<string, string>;
  /** Calls/s to run. @default [10, 100] quick, [10, 100, 300] full */
  rates?: number[];
}

export interface AnswerBreakdown {
  /** Invite sent → answer job added by the ingress (webhook, JWT, commit, enqueue call). */
  ingress: Summary;
  /** Job added → a worker took it. */
  queue: Summary;
  /** Worker took it → answer received by Graph (token, body, HTTPS POST). */
  worker: Summary;
}

export interface B1Run {
  target: 'system' | 'floor';
  ratePerSec: number;
  durationMs: number;
  calls: number;
  answered: number;
  /** Answer latency, ms (integer ms: the simulator stamps with Date.now()). */
  latency: Summary;
  /** Answer latency (ms) at each of `CHART_QUANTILES`, for the chart of the distribution. */
  distribution: number[];
  /** Webhook POSTs answered 2xx: response latency, ms. */
  webhook2xx: Summary;
  /** The same, invites only. */
  invite2xx: Summary;
  /** Calls not answered within 5 s (answered late, or never). */
  missedDeadlines: number;
  /** Calls that received more than one answer POST. */
  duplicateAnswers: number;
  /** Webhook POSTs that did not get a 2xx. */
  failedDeliveries: number;
  /** Calls that had not ended 15 s after the run. */
  unsettled: number;
  /** How late the generator fired arrivals, ms. */
  generatorLateness: Summary;
  /** CPU each process used while arrivals came, in cores (1 = one core busy). */
  cpu: Record<string, CpuTime>;
  /**
   * CPU ms per placed call of each serving process (not the bench's), from the first arrival
   * until every call of the run ended: each call's whole life, also what a saturated run
   * finishes after its arrivals stopped.
   */
  cpuPerCallMs: Record<string, number>;
  /** The five slowest answers. */
  slowest: { callId: string; ms: number; split?: string }[];
  breakdown?: AnswerBreakdown;
}

export interface B1RatePoint {
  ratePerSec: number;
  system: B1Run;
  floor: B1Run;
  /** p50 / floor p50 of the median runs. */
  p50Ratio: number;
  systemRuns: B1Run[];
  floorRuns: B1Run[];
}

export interface B1Result {
  id: 'B1';
  setup: string;
  points: B1RatePoint[];
}

interface Target {
  name: 'system' | 'floor';
  sim: Simulator;
  /** When the system's answer jobs were added and taken (ms, Redis's clock), by job id. */
  answerJobs?: AnswerJobTimes;
  /** Processes whose CPU is metered during a run (`bench` is not counted per call). */
  pids: Record<string, number | undefined>;
}

async function runOnce(target: Target, ratePerSec: number, durationMs: number): Promise<B1Run> {
  const { sim } = target;
  const calls: SimCall[] = [];
  const serving = Object.fromEntries(
    Object.entries(target.pids).filter(([name]) => name !== 'bench'),
  );
  const life = meterCpu(serving);
  const cpu = meterCpu(target.pids);
  const loop = await openLoop({
    ratePerSec,
    durationMs,
    fire: async (i) => {
      const call = await sim.placeCall({ kind: i % 3 === 0 ? 'meeting' : 'p2p', holdMs: HOLD_MS });
      calls.push(call);
    },
  });
  const cpuUsed = cpu.stop();
  const settled = await Promise.allSettled(calls.map((c) => c.waitFor('terminated', 15_000)));
  const cpuPerCallMs: Record<string, number> = {};
  for (const [name, seconds] of Object.entries(life.seconds())) {
    if (calls.length > 0) cpuPerCallMs[name] = Math.round((seconds * 1e6) / calls.length) / 1000;
  }
  const ids = new Set(calls.map((c) => c.id));
  const latencies: { callId: string; ms: number }[] = [];
  let missed = 0;
  for (const call of calls) {
    if (!call.answer) {
      missed += 1;
      continue;
    }
    const ms = call.answer.at - call.invitedAt;
    latencies.push({ callId: call.id, ms });
    if (ms >= DEADLINE_MS) missed += 1;
  }
  const answersPerCall = new Map<string, number>();
  for (const r of sim.requests) {
    if (r.route === 'answer' && r.callId !== undefined && ids.has(r.callId))
      answersPerCall.set(r.callId, (answersPerCall.get(r.callId) ?? 0) + 1);
  }
  const deliveries = sim.deliveries.filter((d) => d.callId !== undefined && ids.has(d.callId));
  const ok = deliveries.filter((d) => d.status >= 200 && d.status < 300);
  const slowest = [...latencies].sort((a, b) => b.ms - a.ms).slice(0, 5);
  const breakdown = target.answerJobs
    ? answerBreakdown(target.answerJobs, calls, slowest)
    : undefined;
  const run: B1Run = {
    target: target.name,
    ratePerSec,
    durationMs,
    calls: calls.length,
    answered: latencies.length,
    latency: summarize(latencies.map((l) => l.ms)),
    distribution: distributionOf(latencies.map((l) => l.ms)),
    webhook2xx: summarize(ok.map((d) => d.latencyMs)),
    invite2xx: summarize(ok.filter((d) => d.kind === 'incoming').map((d) => d.latencyMs)),
    missedDeadlines: missed + (loop.arrivals - calls.length),
    duplicateAnswers: [...answersPerCall.values()].filter((n) => n > 1).length,
    failedDeliveries: deliveries.length - ok.length,
    unsettled: settled.filter((s) => s.status === 'rejected').length,
    generatorLateness: loop.lateness,
    cpu: cpuUsed,
    cpuPerCallMs,
    slowest: slowest.map((s) => ({
      ...s,
      ...(breakdown?.splits.has(s.callId) ? { split: breakdown.splits.get(s.callId) } : {}),
    })),
    ...(breakdown ? { breakdown: breakdown.summary } : {}),
  };
  // The logs and finished calls of this run are no longer needed: keep the simulator's memory
  // (and so its GC pauses, which land in every later measurement) flat across runs.
  sim.requests.splice(0);
  sim.deliveries.splice(0);
  target.answerJobs?.clear(ids);
  const live = sim.calls as Map<string, SimCall>;
  for (const call of calls) if (call.state === 'terminated') live.delete(call.id);
  return run;
}

/** The first answer job of each call: when it was added and taken, from the queue's events. */
class AnswerJobTimes {
  readonly added = new Map<string, number>();
  readonly taken = new Map<string, number>();
  private readonly events: QueueEvents;

  constructor(redisUrl: string, prefix: string) {
    this.events = new QueueEvents('graph', { connection: { url: redisUrl }, prefix });
    const at = (id: string) => Number(id.split('-')[0]);
    this.events.on('added', ({ jobId }, id) => {
      if (jobId.endsWith('-answer-g1')) this.added.set(jobId, at(id));
    });
    this.events.on('active', ({ jobId }, id) => {
      if (jobId.endsWith('-answer-g1') && !this.taken.has(jobId)) this.taken.set(jobId, at(id));
    });
  }

  ready(): Promise<void> {
    return this.events.waitUntilReady().then(() => undefined);
  }

  /** Forgets a finished run's jobs. */
  clear(ids: Iterable<string>): void {
    for (const id of ids) {
      this.added.delete(`${id}-answer-g1`);
      this.taken.delete(`${id}-answer-g1`);
    }
  }

  close(): Promise<void> {
    return this.events.close();
  }
}

/** Split each answered call's latency with its answer job's events (same machine clock). */
function answerBreakdown(
  jobs: AnswerJobTimes,
  calls: SimCall[],
  slowest: { callId: string }[],
): { summary: AnswerBreakdown; splits: Map<string, string> } {
  const ingress: number[] = [];
  const wait: number[] = [];
  const worker: number[] = [];
  const splits = new Map<string, string>();
  const wanted = new Set(slowest.map((s) => s.callId));
  for (const call of calls) {
    if (!call.answer) continue;
    const added = jobs.added.get(`${call.id}-answer-g1`);
    const taken = jobs.taken.get(`${call.id}-answer-g1`);
    if (added === undefined || taken === undefined) continue;
    const parts = [added - call.invitedAt, taken - added, call.answer.at - taken] as const;
    ingress.push(parts[0]);
    wait.push(parts[1]);
    worker.push(parts[2]);
    if (wanted.has(call.id))
      splits.set(call.id, `ingress ${parts[0]} + queue ${parts[1]} + worker ${parts[2]} ms`);
  }
  return {
    summary: { ingress: summarize(ingress), queue: summarize(wait), worker: summarize(worker) },
    splits,
  };
}

export async function runB1(options: B1Options): Promise<B1Result> {
  const rates = options.rates ?? (options.quick ? [10, 100] : [10, 100, 300]);
  const warmupMs = options.quick ? 3000 : 5000;
  const runMs = options.quick ? 5000 : 30_000;
  const warmCalls = options.quick ? 500 : 1500;
  const prefix = uniquePrefix('bench-b1');
  const ports = [await freePort(), await freePort()];
  const ingressUrl = (i: number) => `http://127.0.0.1:${ports[i]}`;
  const sim = await testSimulator(`${ingressUrl(0)}/api/calling`, {
    webhookUrls: ports.map((_, i) => `${ingressUrl(i)}/api/calling`),
  });
  const env = {
    ...testOrchestratorEnv(sim, prefix, ports[0]!),
    REDIS_URL: options.redisUrl,
    // callbacks go to "the load balancer": replica 0's URL, which the simulator spreads
    PUBLIC_BASE_URL: ingressUrl(0),
    LOG_LEVEL: 'error',
    // finished calls need not stay an hour: keeps Redis small over a long run
    CALL_RETENTION_MS: '10000',
    RECORD_RETENTION_MS: '10000',
    ...options.env,
  };
  const roles: RoleProcess[] = [
    startRole('ingress-0', 'src/roles/ingress/main.ts', { ...env, PORT: String(ports[0]) }),
    startRole('ingress-1', 'src/roles/ingress/main.ts', { ...env, PORT: String(ports[1]) }),
    startRole('worker-0', 'workers/main.ts', env),
  ];
  const floorPort = await freePort();
  const floorSim = await testSimulator(`http://127.0.0.1:${floorPort}/api/calling`);
  const floor = startRole('floor', 'test/bench/b1-floor-main.ts', {
    FLOOR_PORT: String(floorPort),
    FLOOR_OPENID_CONFIG_URL: floorSim.openIdConfigUrl,
    FLOOR_ISSUER: floorSim.issuer,
    FLOOR_GRAPH_BASE_URL: floorSim.graphBaseUrl,
    FLOOR_AUTHORITY_HOST: floorSim.authorityHost,
  });
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const answerJobs = new AnswerJobTimes(options.redisUrl, queuePrefix(prefix));
  try {
    await answerJobs.ready();
    await Promise.all([
      ready(ingressUrl(0)),
      ready(ingressUrl(1)),
      ready(`http://127.0.0.1:${floorPort}`),
    ]);
    const redis = await redisPid(options.redisUrl);
    const system: Target = {
      name: 'system',
      sim,
      answerJobs,
      pids: {
        bench: process.pid,
        ...Object.fromEntries(roles.map((r) => [r.name, r.child.pid])),
        redis,
      },
    };
    const bare: Target = {
      name: 'floor',
      sim: floorSim,
      pids: { bench: process.pid, floor: floor.child.pid, redis },
    };
    const points: B1RatePoint[] = [];
    // A process just started runs its hot paths interpreted until V8 has compiled them, which
    // takes hundreds of calls; a few seconds at 10 calls/s would measure that compilation (the
    // system, with more code, pays more of it), not the steady state a running recorder is in.
    console.log(`B1: ${warmCalls} calls at ${WARM_RATE}/s to warm each target`);
    await runOnce(bare, WARM_RATE, (warmCalls / WARM_RATE) * 1000);
    await runOnce(system, WARM_RATE, (warmCalls / WARM_RATE) * 1000);
    for (const rate of rates) {
      console.log(`B1: ${rate} calls/s: warm-up`);
      await runOnce(bare, rate, warmupMs);
      await runOnce(system, rate, warmupMs);
      const floorRuns: B1Run[] = [];
      const byP99 = (r: B1Run) => r.latency.p99;
      const systemRepeats = await repeated(
        3,
        async (i) => {
          // floor and system alternate, so drift on a shared machine hits both alike
          floorRuns.push(await runOnce(bare, rate, runMs));
          const run = await runOnce(system, rate, runMs);
          const f = floorRuns.at(-1)!;
          console.log(
            `B1: ${rate} calls/s run ${i + 1}: system p50 ${run.latency.p50} p99 ${run.latency.p99} ms, ` +
              `floor p50 ${f.latency.p50} p99 ${f.latency.p99} ms, missed ${run.missedDeadlines}/${f.missedDeadlines}`,
          );
          return run;
        },
        byP99,
      );
      const floorMedian = [...floorRuns].sort((a, b) => byP99(a) - byP99(b))[1]!;
      points.push({
        ratePerSec: rate,
        system: systemRepeats.median,
        floor: floorMedian,
        p50Ratio: systemRepeats.median.latency.p50 / floorMedian.latency.p50,
        systemRuns: systemRepeats.runs,
        floorRuns,
      });
      await sleep(500);
    }
    return {
      id: 'B1',
      setup:
        `2 ingress processes + 1 worker process (GRAPH_WORKER_CONCURRENCY default), Redis ${options.redisUrl}; ` +
        `simulator in the bench process, the floor in a process of its own; calls: invite → answer → establishing → ` +
        `established → roster → ${HOLD_MS} ms hold → remote hang-up; 1 in 3 a meeting; ` +
        `each target first warmed with ${warmCalls} calls at ${WARM_RATE}/s, then per rate a warm-up of ${warmupMs / 1000} s and 3 × ${runMs / 1000} s`,
      points,
    };
  } finally {
    // an overloaded run leaves deliveries and keep-alive connections behind: no step may hang
    await bounded('stopping the roles', Promise.all(roles.map((r) => r.stop())));
    await bounded('stopping the floor', floor.stop());
    await bounded('closing the simulators', Promise.all([sim.close(), floorSim.close()]));
    await bounded('closing the graph queue events', answerJobs.close());
    await bounded('deleting the keys', deleteByPrefix(connection, prefix), 120_000);
    await connection.quit();
  }
}

/** Latency at each charted percentile (nearest rank), NaN when nothing was answered. */
function distributionOf(samples: number[]): number[] {
  const sorted = [...samples].sort((a, b) => a - b);
  return CHART_QUANTILES.map((q) => quantile(sorted, q));
}
