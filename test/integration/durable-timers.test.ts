/**
 * Timers survive the death of every process: the keep-alive is a BullMQ
 * delayed job in Redis, so killing the only worker process with SIGKILL while it is pending
 * loses nothing — the next worker process to start fires it.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRoleProcess } from '../helpers/role-process.js';
import { callReaches, eventually, startSystem, type System } from '../helpers/system.js';

let system: System;
const children: ChildProcess[] = [];

const startWorkerProcess = (): ChildProcess =>
  startRoleProcess('workers/main.ts', system.env, children).child;

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null
      ? resolve()
      : child.once('exit', () => resolve()),
  );

beforeAll(async () => {
  system = await startSystem({
    name: 'durable',
    withWorkers: false,
    env: { KEEPALIVE_INTERVAL_MS: '2000', MEDIA_ARRIVAL_TIMEOUT_MS: '600000' },
    sim: { keepAliveTimeoutMs: 60_000 },
  });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(children.map(exited));
  await system?.close();
});

/** Resolves once `n` worker processes listen on both queues. */
const workersUp = (n: number) =>
  eventually(
    async () => {
      const { graph, timers } = system.core.queues;
      const [g, t] = await Promise.all([graph.getWorkersCount(), timers.getWorkersCount()]);
      return g >= n && t >= n ? true : undefined;
    },
    30_000,
    `${n} worker process(es) to listen`,
  );

describe('durable timers', () => {
  it('a keep-alive pending while the worker process is killed fires from the next worker', async () => {
    const first = startWorkerProcess();
    // a worker that starts slowly on a busy machine must not make the invite miss its deadline
    await workersUp(1);
    const call = await system.sim.placeCall({ kind: 'p2p', initialRoster: false });
    await call.waitFor('established', 15_000);
    await callReaches(system, call.id, 'established');
    const timer = await eventually(async () => {
      const delayed = await system.core.queues.timers.getDelayed();
      return delayed.find((j) => j.data.callId === call.id && j.data.timerId === 'keepAlive');
    });
    const dueAt = timer.timestamp + (timer.delay ?? 0);

    first.kill('SIGKILL');
    await exited(first);
    // past the due time, with no worker alive, nothing can have been sent
    await new Promise((r) => setTimeout(r, Math.max(0, dueAt - Date.now()) + 500));
    expect(call.keepAlives).toHaveLength(0);

    startWorkerProcess();
    await eventually(
      () => (call.keepAlives.length >= 1 ? true : undefined),
      15_000,
      'the keep-alive to fire',
    );
    const ctx = (await system.core.runtime.getCall(call.id))!.snapshot.context;
    expect(ctx.keepAlive.sent).toBeGreaterThanOrEqual(1);
    expect(call.state).toBe('established');
  }, 60_000);
});
