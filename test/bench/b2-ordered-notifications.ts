/**
 * B2 ordered-notifications: sustained webhook notifications/s with many live calls. The
 * system (two ingress replicas + one worker process, real Redis) first gets `calls` live calls
 * from the simulator — invite, answer, establishing/established in a shuffled order (half of the
 * calls get 'established' first), the initial roster — with 5 % of the calls' notifications
 * delivered twice. Then, per offered rate, roster updates (a participant joins or one the bench
 * added leaves) arrive open loop over all live calls; the simulator delivers each call's
 * notifications in order, as Teams serialises per resource. At the end every call is hung up.
 *
 * The floor (b2-floor.ts, a process of its own) is a bare Hono handler answering 202; it gets
 * the same roster notification bodies, signed the same way, at the same offered rate, right
 * after the system's run at that rate.
 *
 * Correctness, from the simulator's logs and the orchestrator's stored state: before the
 * hang-up every participant the bench added must be in the call's stored roster and every one
 * it removed must be gone (else a lost update); after it every call must be stored as
 * terminated with a legal trail of states (no step backwards, no failure); and Graph must have
 * seen one answer per call and no repeated recording-status report (else a duplicate effect).
 */
import { pino } from 'pino';
import { freePort } from '../../src/dev/local-redis.js';
import { createCore, type Core } from '../../src/roles/core.js';
import type { DeliveryLogEntry, SimCall, Simulator } from '@cr-orchestrator/teams-simulator';
import {
  meterCpu,
  openLoop,
  ready,
  repeated,
  startBenchSystem,
  startRole,
  summarize,
  type BenchSystem,
  type CpuTime,
  type RoleProcess,
  type Summary,
} from './harness/index.js';

export interface B2Options {
  quick: boolean;
  redisUrl: string;
  /** Extra environment of the orchestrator's processes (B9 sets tracing here). */
  env?: Record<string, string>;
  /** Offered roster notifications/s. @default by mode */
  rates?: number[];
  /** Live calls. @default 1000 */
  calls?: number;
  /** Leave the floor out (B9 compares with tracing off instead). */
  noFloor?: boolean;
  label?: string;
}

export interface B2Run {
  target: 'system' | 'floor';
  offeredPerSec: number;
  /** Notifications answered 2xx per second, from the first send to the last answer. */
  achievedPerSec: number;
  notifications: number;
  failed: number;
  /** Webhook POST → response, ms. */
  latency: Summary;
  generatorLateness: Summary;
  cpu: Record<string, CpuTime>;
  /** CPU ms per notification of the processes serving it (ingress + worker + Redis, or floor). */
  cpuMsPerNotification: number;
}

export interface B2Correctness {
  calls: number;
  liveAtPeak: number;
  /** Notifications the simulator delivered over the whole run (duplicates included). */
  notifications: number;
  duplicatesSent: number;
  shuffledCalls: number;
  lostUpdates: number;
  /**
   * Participants who left as the last change their call's roster showed: a full roster after
   * such a removal is indistinguishable from a late, stale one (no roster version), so the call
   * keeps them until a newer roster (machines/roster.ts). Counted apart from lost updates.
   */
  undecidableRemovals: number;
  /** Calls whose last roster notification was not answered 2xx (not checked). */
  unacknowledgedRosters: number;
  illegalTransitions: number;
  duplicateGraphEffects: number;
  failedDeliveries: number;
  /** Failed deliveries by kind and status ('state 0' = no answer in time). */
  failures: Record<string, number>;
  /** Calls answered later than Teams' 5 s (the simulator here waits 60 s). */
  lateAnswers: number;
  /** Calls not stored as terminated at the end. */
  notTerminated: number;
  examples: string[];
}

export interface B2Point {
  offeredPerSec: number;
  system: B2Run;
  floor?: B2Run;
  /** system achieved / floor achieved; CPU per notification system / floor. */
  throughputRatio?: number;
  cpuRatio?: number;
  systemRuns: B2Run[];
  floorRuns: B2Run[];
}

export interface B2Result {
  id: 'B2';
  label?: string;
  setup: string;
  points: B2Point[];
  correctness: B2Correctness;
}

/** Deterministic choices (mulberry32), so two runs offer the same load. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface LiveCall {
  call: SimCall;
  added: string[];
  removed: string[];
}

const SERVING = (name: string): boolean => name !== 'bench';

/** Establish `count` calls open loop at `ratePerSec`. */
async function establish(
  sim: Simulator,
  count: number,
  ratePerSec: number,
  rnd: () => number,
): Promise<{
  live: LiveCall[];
  failed: number;
  shuffled: number;
  duplicated: number;
  /** Why calls did not get established: state, result, answered or not. */
  reasons: Map<string, number>;
}> {
  const live: LiveCall[] = [];
  let failed = 0;
  let shuffled = 0;
  let duplicated = 0;
  const reasons = new Map<string, number>();
  await openLoop({
    ratePerSec,
    durationMs: (count * 1000) / ratePerSec,
    fire: async (i) => {
      const swap = rnd() < 0.5;
      const dup = rnd() < 0.05;
      if (swap) shuffled += 1;
      if (dup) duplicated += 1;
      const call = await sim.placeCall({
        kind: i % 3 === 0 ? 'meeting' : 'p2p',
        swapEstablishOrder: swap,
        duplicateNotifications: dup,
      });
      try {
        await call.waitFor('established', 20_000);
        live.push({ call, added: [], removed: [] });
      } catch {
        failed += 1;
        const why = `${call.state} ${call.result?.code ?? ''}/${call.result?.subcode ?? ''}, ${call.answer ? 'answered' : 'not answered'}`;
        reasons.set(why, (reasons.get(why) ?? 0) + 1);
      }
    },
  });
  return { live, failed, shuffled, duplicated, reasons };
}

/** One roster change on call `i % live.length`: a join, or the leave of one the bench added. */
async function churn(entry: LiveCall, rnd: () => number): Promise<void> {
  if (entry.added.length >= 3 || (entry.added.length > 0 && rnd() < 0.4)) {
    const id = entry.added.shift()!;
    entry.removed.push(id);
    await entry.call.removeParticipant(id);
  } else {
    const p = await entry.call.addParticipant({ kind: rnd() < 0.8 ? 'user' : 'guest' });
    entry.added.push(p.id);
  }
}

async function systemRun(
  system: BenchSystem,
  live: LiveCall[],
  rate: number,
  runMs: number,
  rnd: () => number,
): Promise<{ run: B2Run; bodies: { body: unknown; tenantId: string }[] }> {
  const { sim } = system;
  const from = sim.deliveries.length;
  const cpu = meterCpu(system.pids);
  const started = Date.now();
  const loop = await openLoop({
    ratePerSec: rate,
    durationMs: runMs,
    fire: (i) => churn(live[i % live.length]!, rnd),
  });
  const used = cpu.stop();
  const ended = Date.now();
  const deliveries = sim.deliveries.slice(from).filter((d) => d.kind === 'roster');
  const ok = deliveries.filter((d) => d.status >= 200 && d.status < 300);
  const lastAnswer = Math.max(ended, ...ok.map((d) => d.at + d.latencyMs));
  const cores = Object.entries(used).reduce((n, [k, c]) => (SERVING(k) ? n + c.total : n), 0);
  const seconds = (ended - started) / 1000;
  return {
    run: {
      target: 'system',
      offeredPerSec: rate,
      achievedPerSec: ok.length / ((lastAnswer - started) / 1000),
      notifications: deliveries.length,
      failed:
        deliveries.length - ok.length + loop.settled.filter((s) => s.status === 'rejected').length,
      latency: summarize(ok.map((d) => d.latencyMs)),
      generatorLateness: loop.lateness,
      cpu: used,
      cpuMsPerNotification: (cores * seconds * 1000) / Math.max(1, ok.length),
    },
    bodies: deliveries
      .filter((d) => !d.duplicate)
      .map((d) => ({ body: d.body, tenantId: tenantOf(sim, d.callId) })),
  };
}

function tenantOf(sim: Simulator, callId: string | undefined): string {
  return (callId && sim.calls.get(callId)?.tenantId) || sim.defaultTenantId;
}

async function floorRun(
  sim: Simulator,
  floor: { url: string; role: RoleProcess },
  bodies: { body: unknown; tenantId: string }[],
  rate: number,
  runMs: number,
): Promise<B2Run> {
  const latencies: number[] = [];
  let failed = 0;
  const cpu = meterCpu({ bench: process.pid, floor: floor.role.child.pid });
  const started = Date.now();
  let lastAnswer = started;
  const loop = await openLoop({
    ratePerSec: rate,
    durationMs: runMs,
    fire: async (i) => {
      const { body, tenantId } = bodies[i % bodies.length]!;
      const t0 = performance.now();
      const res = await sim.deliver(body, { tenantId, url: `${floor.url}/api/calling` });
      if (res.status >= 200 && res.status < 300) latencies.push(performance.now() - t0);
      else failed += 1;
      lastAnswer = Math.max(lastAnswer, Date.now());
    },
  });
  const used = cpu.stop();
  const seconds = (Date.now() - started) / 1000;
  return {
    target: 'floor',
    offeredPerSec: rate,
    achievedPerSec: latencies.length / ((lastAnswer - started) / 1000),
    notifications: loop.arrivals,
    failed: failed + loop.settled.filter((s) => s.status === 'rejected').length,
    latency: summarize(latencies),
    generatorLateness: loop.lateness,
    cpu: used,
    cpuMsPerNotification:
      ((used.floor?.total ?? 0) * seconds * 1000) / Math.max(1, latencies.length),
  };
}

/** States of a call's life in order; a trail must never step back. */
const RANK: Record<string, number> = {
  incoming: 0,
  answering: 1,
  answered: 2,
  establishing: 3,
  established: 4,
  startingRecording: 5,
  recording: 5,
  recordingFailed: 5,
  terminating: 6,
  ending: 6,
  terminated: 7,
};

/** Participant ids a roster notification body lists. */
function listedIds(body: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(body)) for (const item of body) listedIds(item, out);
  else if (body !== null && typeof body === 'object') {
    const o = body as Record<string, unknown>;
    if (o['@odata.type'] === '#microsoft.graph.participant' && typeof o.id === 'string')
      out.add(o.id);
    else for (const value of Object.values(o)) listedIds(value, out);
  }
  return out;
}

/**
 * Which of two deliveries of one notification stream Teams meant last: the later sent (a
 * retry after its first attempt). Not the highest `rosterSequenceNumber` a body shows: a full
 * roster sent after a removal lists only those left, so its highest number can be lower than
 * the roster's before it.
 */
const newer = (a: DeliveryLogEntry, b: DeliveryLogEntry): boolean =>
  a.sent !== b.sent ? a.sent > b.sent : a.attempt > b.attempt;

/** The highest `rosterSequenceNumber` a notification body shows (-1 when none). */
function sequenceOf(body: unknown): number {
  const numbers = [...JSON.stringify(body).matchAll(/"rosterSequenceNumber":(\d+)/g)];
  return Math.max(-1, ...numbers.map((m) => Number(m[1])));
}

/**
 * A lost update: a participant the bench added or removed whose presence in the stored roster
 * differs from the call's last roster notification the ingress acknowledged (2xx). A call whose
 * last roster notification was not acknowledged is counted apart: Teams would not know either.
 */
async function checkRosters(
  core: Core,
  sim: Simulator,
  live: LiveCall[],
  examples: string[],
): Promise<{ lost: number; undecidable: number; unacknowledged: number }> {
  // The simulator logs a delivery when it completes, so deliveries of one call that overlap (one
  // timed out at the platform while the ingress still worked on it) are logged out of order: the
  // roster that counts is the last sent, the one the call must keep.
  const last = new Map<string, DeliveryLogEntry>();
  for (const d of sim.deliveries) {
    if (d.kind !== 'roster' || d.duplicate || d.callId === undefined) continue;
    const kept = last.get(d.callId);
    if (!kept || newer(d, kept)) last.set(d.callId, d);
  }
  let lost = 0;
  let undecidable = 0;
  let unacknowledged = 0;
  for (const { call, added, removed } of live) {
    const delivery = last.get(call.id);
    if (!delivery || delivery.status < 200 || delivery.status >= 300) {
      unacknowledged += 1;
      continue;
    }
    const expected = listedIds(delivery.body);
    const shown = sequenceOf(delivery.body);
    const stored = await core.runtime.getCall(call.id);
    const participants = stored?.snapshot.context.roster.participants ?? {};
    const wrong = [...added, ...removed].filter((id) => expected.has(id) !== id in participants);
    // kept after leaving, and changed after anything the last roster shows: undecidable
    const kept = wrong.filter((id) => (participants[id]?.seq ?? -1) > shown);
    undecidable += kept.length;
    lost += wrong.length - kept.length;
    if (wrong.length > kept.length && examples.length < 5)
      examples.push(
        `${call.id}: ${wrong.length - kept.length} participants differ from the last roster`,
      );
  }
  return { lost, undecidable, unacknowledged };
}

async function checkEnds(
  core: Core,
  sim: Simulator,
  live: LiveCall[],
  examples: string[],
): Promise<Pick<B2Correctness, 'illegalTransitions' | 'notTerminated' | 'duplicateGraphEffects'>> {
  let illegal = 0;
  let notTerminated = 0;
  for (const { call } of live) {
    const record = await core.runtime.getRecord(call.id);
    if (!record?.state.endsWith('terminated')) {
      notTerminated += 1;
      if (examples.length < 5) examples.push(`${call.id}: stored as ${record?.state ?? 'nothing'}`);
      continue;
    }
    let top = -1;
    for (const [state] of record.trail) {
      const rank = RANK[state];
      if (rank === undefined || rank < top) {
        illegal += 1;
        if (examples.length < 5)
          examples.push(`${call.id}: trail ${record.trail.map(([s]) => s).join(' → ')}`);
        break;
      }
      top = rank;
    }
  }
  const ids = new Set(live.map((l) => l.call.id));
  const effects = new Map<string, number>();
  for (const r of sim.requests) {
    if (r.callId === undefined || !ids.has(r.callId) || r.status >= 300) continue;
    if (r.route !== 'answer' && r.route !== 'updateRecordingStatus') continue;
    const status = (r.body as { status?: string } | undefined)?.status ?? '';
    const key = `${r.callId} ${r.route} ${status}`;
    effects.set(key, (effects.get(key) ?? 0) + 1);
  }
  const duplicateGraphEffects = [...effects.values()].reduce((n, c) => n + (c - 1), 0);
  return { illegalTransitions: illegal, notTerminated, duplicateGraphEffects };
}

export async function runB2(options: B2Options): Promise<B2Result> {
  const calls = options.calls ?? 1000;
  const setupRate = options.quick ? 50 : 100;
  const rates = options.rates ?? (options.quick ? [500, 1000] : [1000, 2000, 3000]);
  const runMs = options.quick ? 5000 : 30_000;
  const repeats = options.quick ? 1 : 3;
  const rnd = random(2);
  const system = await startBenchSystem({
    name: 'b2',
    redisUrl: options.redisUrl,
    env: { ...options.env, MEDIA_ARRIVAL_TIMEOUT_MS: String(10 * 60_000) },
    // notifications, not answer latency (B1), are measured: an overloaded machine must not end
    // calls for a late answer (answers later than 5 s are counted)
    sim: { establishDelayMs: 30, answerDeadlineMs: 60_000 },
  });
  const floorPort = await freePort();
  const floor = options.noFloor
    ? undefined
    : {
        url: `http://127.0.0.1:${floorPort}`,
        role: startRole('b2-floor', 'test/bench/b2-floor.ts', { BENCH_PORT: String(floorPort) }),
      };
  const core = createCore(
    { redisUrl: options.redisUrl, redisKeyPrefix: system.prefix },
    pino({ level: 'silent' }),
  );
  try {
    await core.ready();
    if (floor) await ready(floor.url);
    console.log(
      `B2${options.label ? ` ${options.label}` : ''}: establishing ${calls} calls at ${setupRate}/s`,
    );
    const set = await establish(system.sim, calls, setupRate, rnd);
    const liveAtPeak = await core.runtime.activeCallCount();
    const points: B2Point[] = [];
    for (const rate of rates) {
      const floorRuns: B2Run[] = [];
      const sys = await repeated(
        repeats,
        async (i) => {
          const { run, bodies } = await systemRun(system, set.live, rate, runMs, rnd);
          if (floor) floorRuns.push(await floorRun(system.sim, floor, bodies, rate, runMs));
          const f = floorRuns.at(-1);
          console.log(
            `B2${options.label ? ` ${options.label}` : ''}: ${rate}/s run ${i + 1}: system ` +
              `${run.achievedPerSec.toFixed(0)}/s p99 ${run.latency.p99.toFixed(1)} ms failed ${run.failed}` +
              (f
                ? `; floor ${f.achievedPerSec.toFixed(0)}/s p99 ${f.latency.p99.toFixed(1)} ms`
                : ''),
          );
          return run;
        },
        (r) => r.latency.p99,
      );
      const f = [...floorRuns].sort((a, b) => a.latency.p99 - b.latency.p99)[
        Math.floor((floorRuns.length - 1) / 2)
      ];
      points.push({
        offeredPerSec: rate,
        system: sys.median,
        ...(f
          ? {
              floor: f,
              throughputRatio: sys.median.achievedPerSec / f.achievedPerSec,
              cpuRatio: sys.median.cpuMsPerNotification / f.cpuMsPerNotification,
            }
          : {}),
        systemRuns: sys.runs,
        floorRuns,
      });
    }
    const examples: string[] = [];
    const rosters = await checkRosters(core, system.sim, set.live, examples);
    await Promise.allSettled(set.live.map(({ call }) => call.hangUp()));
    await Promise.allSettled(set.live.map(({ call }) => call.waitFor('terminated', 15_000)));
    // the last notifications' commits and the answers' jobs settle
    await new Promise((r) => setTimeout(r, 1000));
    const ends = await checkEnds(core, system.sim, set.live, examples);
    // the floor's deliveries are 'raw' ones; only the system's count here
    const all = system.sim.deliveries.filter((d) => d.kind !== 'raw');
    const failures: Record<string, number> = Object.fromEntries(
      [...set.reasons].map(([k, n]) => [`not established: ${k}`, n]),
    );
    for (const d of all) {
      if (d.status >= 200 && d.status < 300) continue;
      const key = `${d.kind}${d.state ? ` ${d.state}` : ''} ${d.status}${d.error ? ` ${d.error.slice(0, 40)}` : ''}`;
      failures[key] = (failures[key] ?? 0) + 1;
    }
    return {
      id: 'B2',
      ...(options.label ? { label: options.label } : {}),
      setup:
        `2 ingress + 1 worker process, Redis ${options.redisUrl}; ${calls} calls established at ` +
        `${setupRate}/s (1 in 3 a meeting, half with 'established' before 'establishing', 5 % ` +
        `with every notification delivered twice), then roster joins/leaves open loop over all ` +
        `live calls at ${rates.join(', ')} notifications/s, ${repeats} × ${runMs / 1000} s each; ` +
        `floor: bare Hono 202 process fed the same signed bodies at the same rate`,
      points,
      correctness: {
        calls,
        liveAtPeak,
        notifications: all.length,
        duplicatesSent: all.filter((d) => d.duplicate).length,
        shuffledCalls: set.shuffled,
        lostUpdates: rosters.lost,
        undecidableRemovals: rosters.undecidable,
        unacknowledgedRosters: rosters.unacknowledged,
        failedDeliveries: all.filter((d) => d.status < 200 || d.status >= 300).length + set.failed,
        failures,
        lateAnswers: [...system.sim.calls.values()].filter(
          (c) => !c.answer || c.answer.at - c.invitedAt > 5000,
        ).length,
        ...ends,
        examples,
      },
    };
  } finally {
    await core.close();
    await floor?.role.stop();
    await system.close();
  }
}
