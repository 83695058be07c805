/**
 * Graceful shutdown: SIGTERM → readiness 503 → stop intake → drain in-flight work within a bound
 * → close → exit 0; a second signal forces exit. Real processes, real signals.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/dev/local-redis.js';
import { startRoleProcess } from '../helpers/role-process.js';
import { callReaches, eventually, startSystem, type System } from '../helpers/system.js';

let system: System;
const children: ChildProcess[] = [];

/** A role process, and when it exited with which code. */
function role(file: string, env: Record<string, string>) {
  const { child, exit } = startRoleProcess(file, { ...system.env, ...env }, children);
  return { child, exited: exit.then((code) => ({ code, at: Date.now() })) };
}

async function status(url: string): Promise<number | 'refused'> {
  try {
    return (await fetch(url)).status;
  } catch {
    return 'refused';
  }
}

/**
 * These tests are about draining, not Teams' 5 s answer window: the answer drained at SIGTERM is
 * retried by a worker process started after the first exited, and a process start on busy cores
 * must not make the call miss its deadline.
 */
const ANSWER_DEADLINE_MS = 20_000;

beforeAll(async () => {
  system = await startSystem({
    name: 'graceful',
    withWorkers: false,
    env: { ANSWER_DEADLINE_MS: String(ANSWER_DEADLINE_MS) },
    sim: { answerDeadlineMs: ANSWER_DEADLINE_MS },
  });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await system?.close();
});

describe('graceful shutdown', () => {
  it('ingress: readiness 503 at once, still serving for SHUTDOWN_DELAY_MS, then closed, exit 0', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const ingress = role('src/roles/ingress/main.ts', {
      PORT: String(port),
      SHUTDOWN_DELAY_MS: '1500',
    });
    // ready needs a worker: the in-process ones of another test are not running here
    const worker = role('workers/main.ts', {});
    await eventually(
      async () => ((await status(`${base}/readyz`)) === 200 ? true : undefined),
      20_000,
    );
    const signalledAt = Date.now();
    ingress.child.kill('SIGTERM');
    await eventually(
      async () => ((await status(`${base}/readyz`)) === 503 ? true : undefined),
      1000,
    );
    // during the delay a load balancer's late request is still served
    expect(await status(`${base}/healthz`)).toBe(200);
    const { code, at } = await ingress.exited;
    expect(code).toBe(0);
    expect(at - signalledAt).toBeGreaterThanOrEqual(1500);
    expect(await status(`${base}/healthz`)).toBe('refused');
    worker.child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
  });

  it('ingress: a second signal exits at once with 1', async () => {
    const port = await freePort();
    const ingress = role('src/roles/ingress/main.ts', {
      PORT: String(port),
      SHUTDOWN_DELAY_MS: '10000',
    });
    await eventually(
      async () => ((await status(`http://127.0.0.1:${port}/healthz`)) === 200 ? true : undefined),
      20_000,
    );
    ingress.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    const forcedAt = Date.now();
    ingress.child.kill('SIGTERM');
    const { code, at } = await ingress.exited;
    expect(code).toBe(1);
    expect(at - forcedAt).toBeLessThan(5000); // not the 10 s delay
  });

  it('workers: a Graph request in flight at SIGTERM is finished and recorded before exit 0', async () => {
    const worker = role('workers/main.ts', {});
    await eventually(
      async () => ((await system.core.queues.graph.getWorkersCount()) >= 1 ? true : undefined),
      20_000,
    );
    const callId = randomUUID();
    // the answer is slow (then fails once), the retry succeeds: all of it must happen in the drain
    system.sim.addFault({ route: 'answer', callId, status: 503, delayMs: 800, times: 1 });
    const call = await system.sim.placeCall({ kind: 'p2p', callId });
    await eventually(() => (call.answerAttempts >= 1 ? true : undefined), 5000);
    const requestSeenAt = Date.now();
    worker.child.kill('SIGTERM');
    const { code, at } = await worker.exited;
    expect(code).toBe(0);
    // it waited for the slow request instead of abandoning it…
    expect(at - requestSeenAt).toBeGreaterThanOrEqual(700);
    // …and recorded its outcome: a 503 is retryable, so the job waits for its retry, not lost
    const job = (
      await system.core.queues.graph.getJobs(['completed', 'waiting', 'delayed', 'active'])
    ).find((j) => j.data.callId === callId && j.data.op === 'answer');
    expect(await job?.getState()).toMatch(/^(delayed|waiting)$/);
    expect(job?.attemptsMade).toBe(1);
    const next = role('workers/main.ts', {});
    // established, not answered: the platform's establishing/established notifications can be
    // committed before the answer's outcome, and then the call never rests in live.answered
    await callReaches(system, callId, 'established', 15_000);
    expect(
      system.sim.requests.filter(
        (r) => r.route === 'answer' && r.callId === callId && r.status < 300,
      ),
    ).toHaveLength(1);
    next.child.kill('SIGTERM');
    expect((await next.exited).code).toBe(0);
  });
});
