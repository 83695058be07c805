/**
 * Three ingress replicas and two worker processes share one Redis; the
 * simulator spreads notifications round-robin over the replicas (as a load balancer would)
 * and retries failed deliveries (as Teams may). A burst of calls with roster updates, on a
 * compressed keep-alive clock; mid-burst one replica and one worker are `kill -9`ed and
 * restarted. Judged from what Teams saw (the simulator's log): every invite answered exactly
 * once and before its deadline (or explicitly failed), every call's final state correct, no
 * keep-alive missed.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateName } from '../../src/calls/runtime.js';
import { freePort } from '../../src/dev/local-redis.js';
import { createCore, type Core } from '../../src/roles/core.js';
import type { SimCall, Simulator } from '@cr-orchestrator/teams-simulator';
import { pino } from 'pino';
import { startRoleProcess } from '../helpers/role-process.js';
import { deleteByPrefix, plainRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { eventually, testOrchestratorEnv, testSimulator } from '../helpers/system.js';

const CALLS = 200;
const RATE_PER_S = 40;
/**
 * The compressed keep-alive clock keeps Teams' ratio (a call ends after 3 intervals without a
 * keep-alive: 45 min vs 15 min) but stays well above the failover time of a timer job held by
 * a killed worker (JOB_LOCK_MS + STALL_CHECK_MS ≈ 0.9 s), which does not compress.
 */
const KEEPALIVE_MS = 3000;
const KEEPALIVE_TIMEOUT_MS = 3 * KEEPALIVE_MS;
const HOLD_MS = 7000;

const prefix = uniquePrefix('chaos');
let sim: Simulator;
let core: Core;
let env: Record<string, string>;
const ports: number[] = [];
const processes = new Map<string, ChildProcess>();
const exits: string[] = [];

const started: ChildProcess[] = [];

function startRole(name: string, file: string, extra: Record<string, string> = {}): void {
  const { child } = startRoleProcess(file, { ...env, ...extra }, started, { logLevel: 'error' });
  child.once('exit', (code, signal) => exits.push(`${name}:${code ?? signal}`));
  processes.set(name, child);
}

const ingressUrl = (i: number) => `http://127.0.0.1:${ports[i]}`;
const startIngress = (i: number) =>
  startRole(`ingress-${i}`, 'src/roles/ingress/main.ts', { PORT: String(ports[i]) });
const startWorker = (i: number) => startRole(`worker-${i}`, 'workers/main.ts');

async function ready(i: number): Promise<void> {
  await eventually(
    async () => {
      const res = await fetch(`${ingressUrl(i)}/readyz`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    },
    30_000,
    `ingress ${i} ready`,
  );
}

beforeAll(async () => {
  for (let i = 0; i < 3; i += 1) ports.push(await freePort());
  sim = await testSimulator(`${ingressUrl(0)}/api/calling`, {
    webhookUrls: ports.map((_, i) => `${ingressUrl(i)}/api/calling`),
    deliveryRetry: { attempts: 8, backoffMs: [100, 200, 300, 500] },
    keepAliveTimeoutMs: KEEPALIVE_TIMEOUT_MS,
  });
  env = {
    ...testOrchestratorEnv(sim, prefix, ports[0]!),
    // callbacks go to "the load balancer": replica 0's URL, which the simulator spreads
    PUBLIC_BASE_URL: ingressUrl(0),
    KEEPALIVE_INTERVAL_MS: String(KEEPALIVE_MS),
    MEDIA_ARRIVAL_TIMEOUT_MS: '600000',
    ROSTER_MODE: 'delta',
  };
  core = createCore(
    { redisUrl: testRedisUrl(), redisKeyPrefix: prefix },
    pino({ level: 'silent' }),
  );
  await core.ready();
  for (let i = 0; i < 3; i += 1) startIngress(i);
  startWorker(0);
  startWorker(1);
  await Promise.all([0, 1, 2].map(ready));
  await eventually(
    async () => ((await core.queues.graph.getWorkersCount()) >= 2 ? true : undefined),
    30_000,
    'both workers',
  );
}, 60_000);

afterAll(async () => {
  for (const child of processes.values()) if (child.exitCode === null) child.kill('SIGKILL');
  await sim?.close();
  await core?.queues.graph.obliterate({ force: true }).catch(() => undefined);
  await core?.queues.timers.obliterate({ force: true }).catch(() => undefined);
  await core?.close();
  const redis = plainRedis();
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

/** One call's life as Teams drives it: invite, roster changes, hold, remote hang-up. */
async function life(call: SimCall, index: number): Promise<void> {
  await call.waitFor('established', 15_000);
  const guest = await call.addParticipant({ kind: 'guest', displayName: `guest-${index}` });
  await call.setMuted(guest.id, true);
  if (index % 2 === 0) await call.removeParticipant(guest.id);
  await new Promise((r) => setTimeout(r, HOLD_MS));
  await call.hangUp();
}

describe('three replicas, two workers, kill -9 mid-burst', () => {
  it('answers every invite once and in time, ends every call right, misses no keep-alive', async () => {
    const calls: SimCall[] = [];
    const lives: Promise<unknown>[] = [];
    const burst = (async () => {
      for (let i = 0; i < CALLS; i += 1) {
        // Delta rosters (ROSTER_MODE=delta below): removals are explicit and sequenced. A full
        // roster cannot prove the removal of the participant who changed last
        // (machines/roster.ts); this test is about process deaths, not that.
        const placed = sim.placeCall({
          kind: i % 3 === 0 ? 'meeting' : 'p2p',
          rosterMode: 'delta',
        });
        lives.push(
          placed.then((call) => {
            calls.push(call);
            return life(call, i).catch((error: unknown) => error);
          }),
        );
        await new Promise((r) => setTimeout(r, 1000 / RATE_PER_S));
      }
    })();
    // mid-burst: one replica and one worker die without warning, and come back a second later
    await new Promise((r) => setTimeout(r, (CALLS / RATE_PER_S / 2) * 1000));
    processes.get('ingress-1')!.kill('SIGKILL');
    processes.get('worker-0')!.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    startIngress(1);
    startWorker(0);
    await burst;
    const failures = (await Promise.all(lives)).filter((r) => r instanceof Error);

    expect(exits).toEqual(expect.arrayContaining(['ingress-1:SIGKILL', 'worker-0:SIGKILL']));
    expect(calls).toHaveLength(CALLS);
    const problems: string[] = failures.map((e) => e.message);
    for (const call of calls) {
      const answers = sim.requests.filter(
        (r) => r.route === 'answer' && r.callId === call.id && r.status < 300,
      );
      const stored = await core.runtime.getCall(call.id);
      const state = stored ? stateName(stored.snapshot) : 'missing';
      if (answers.length === 0) {
        // explicitly failed is acceptable, silently lost is not
        if (!(call.result?.subcode === 8544 && state === 'failed'))
          problems.push(`${call.id}: not answered and not failed (${state})`);
        continue;
      }
      if (answers.length > 1) problems.push(`${call.id}: answered ${answers.length} times`);
      if (call.answer!.at - call.invitedAt >= 5000)
        problems.push(`${call.id}: answered after the deadline`);
      if (call.result?.subcode === 8537) problems.push(`${call.id}: keep-alive missed (408/8537)`);
      await eventually(
        async () => {
          const s = await core.runtime.getCall(call.id);
          return s && stateName(s.snapshot) === 'terminated' ? s : undefined;
        },
        10_000,
        `${call.id} terminated`,
      ).then(
        (s) => {
          const end = s.snapshot.context.resultInfo;
          if (end?.code !== call.result?.code || end?.subcode !== call.result?.subcode)
            problems.push(
              `${call.id}: ended ${end?.code}/${end?.subcode}, Teams said ` +
                `${call.result?.code}/${call.result?.subcode} ` +
                `(${s.snapshot.context.trail.map(([t]) => t).join('→')}; ` +
                `keep-alive ${JSON.stringify(s.snapshot.context.keepAlive)}; ` +
                `ended by ${s.snapshot.context.endedBy})`,
            );
          const ours = Object.keys(s.snapshot.context.roster?.participants ?? {}).sort();
          const theirs = call.participants.map((p) => p.id).sort();
          if (JSON.stringify(ours) !== JSON.stringify(theirs))
            problems.push(`${call.id}: roster ${ours.join(',')} ≠ Teams' ${theirs.join(',')}`);
        },
        (error: unknown) => problems.push((error as Error).message),
      );
    }
    const answered = calls.filter((c) => c.answer).length;
    const latencies = calls
      .filter((c) => c.answer)
      .map((c) => c.answer!.at - c.invitedAt)
      .sort((a, b) => a - b);
    console.info(
      `chaos: ${CALLS} calls, ${answered} answered, p50 ${latencies[Math.floor(latencies.length / 2)]} ms, ` +
        `max ${latencies.at(-1)} ms, ${sim.deliveries.filter((d) => d.attempt > 1).length} delivery retries, ` +
        `${calls.reduce((n, c) => n + c.keepAlives.length, 0)} keep-alives`,
    );
    expect(problems).toEqual([]);
  }, 60_000); // about 20 s on an idle 2-core machine; the timeout is not what the test measures
});
