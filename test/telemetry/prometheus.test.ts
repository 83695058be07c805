/**
 * The opt-in Prometheus endpoint: `npm start`'s launcher with `PROMETHEUS_PORT` gives the
 * ingress that port and the workers the next one; a call placed through the simulator shows up
 * in what a Prometheus would scrape from each, with no OTLP configured at all, next to each
 * process's event-loop delay.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/dev/local-redis.js';
import type { Simulator } from '@cr-orchestrator/teams-simulator';
import { killAll, startRoleProcess, type RoleProcess } from '../helpers/role-process.js';
import { deleteByPrefix, plainRedis, uniquePrefix } from '../helpers/redis.js';
import { eventually, testOrchestratorEnv, testSimulator } from '../helpers/system.js';

const prefix = uniquePrefix('prom');
const children: ChildProcess[] = [];
let sim: Simulator;
let launcher: RoleProcess | undefined;
let ingressPort: number;
let metricsPort: number;

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

/** Two consecutive free ports (ingress, workers), as the launcher hands them out. */
async function freePortPair(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    if (port < 65535 && (await portFree(port + 1))) return port;
  }
  throw new Error('no two consecutive free ports');
}

const scrape = async (port: number): Promise<string | undefined> => {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
  return res?.status === 200 ? res.text() : undefined;
};

beforeAll(async () => {
  ingressPort = await freePort();
  metricsPort = await freePortPair();
  sim = await testSimulator(`http://127.0.0.1:${ingressPort}/api/calling`);
  const env = {
    ...testOrchestratorEnv(sim, prefix, ingressPort),
    PROMETHEUS_PORT: String(metricsPort),
    PROMETHEUS_HOST: '127.0.0.1',
  };
  const role = startRoleProcess('src/process/launcher.ts', env, children, { capture: true });
  launcher = role;
  await eventually(
    async () => {
      const res = await fetch(`http://127.0.0.1:${ingressPort}/readyz`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    },
    20_000,
    'the orchestrator to become ready',
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}\n${role.output()}`);
  });
}, 30_000);

afterAll(async () => {
  // SIGTERM: the launcher stops its roles (SIGKILL would orphan them)
  launcher?.child.kill('SIGTERM');
  await Promise.race([launcher?.exit, new Promise((r) => setTimeout(r, 10_000))]);
  await killAll(children);
  await sim?.close();
  const redis = plainRedis();
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

describe('the Prometheus endpoint', () => {
  it('serves each role’s call metrics at /metrics on its own port', async () => {
    const call = await sim.placeCall({ kind: 'p2p' });
    await call.waitFor('established', 8000);
    const workers = await eventually(
      async () => {
        const text = await scrape(metricsPort + 1);
        return text?.includes('cr_invites_total{outcome="answered"') ? text : undefined;
      },
      10_000,
      'the workers’ /metrics to count the answered invite',
    );
    expect(workers).toMatch(/^cr_invites_total\{outcome="answered"[^}]*\} 1$/m);
    expect(workers).toMatch(/^cr_answer_latency_count(\{[^}]*\})? 1$/m);
    expect(workers).toContain('service_name="cr-orchestrator-workers"');
    // the process itself: how late its event loop ran since the last scrape (what decides
    // whether a live worker keeps its job locks; seconds, the 10 ms sampling included) and how
    // busy it was
    // each scrape restarts the delay histogram, which reports only once it has 5 samples (10 ms
    // each): scrape again after a pause
    const runtime = await eventually(
      async () => {
        await new Promise((r) => setTimeout(r, 200));
        const text = await scrape(metricsPort + 1);
        return text?.includes('nodejs_eventloop_delay_max') ? text : undefined;
      },
      10_000,
      'the workers’ event-loop delay',
    );
    const gauge = (name: string) =>
      Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(runtime)?.[1]);
    expect(gauge('nodejs_eventloop_delay_max')).toBeGreaterThanOrEqual(0.01);
    expect(gauge('nodejs_eventloop_delay_p99')).toBeGreaterThanOrEqual(0.01);
    expect(gauge('nodejs_eventloop_utilization')).toBeGreaterThan(0);
    expect(gauge('nodejs_eventloop_utilization')).toBeLessThanOrEqual(1);
    const ingress = await eventually(
      async () => {
        const text = await scrape(metricsPort);
        return text?.includes('http_server_request_duration') ? text : undefined;
      },
      10_000,
      'the ingress’ /metrics',
    );
    expect(ingress).toContain('cr_calls_active');
    // left out on purpose: two counter updates per request for what the duration's rate tells
    expect(ingress).not.toContain('http_server_active_requests');
    // no call, tenant or participant ids as labels
    expect(ingress + workers).not.toContain(call.id);
  });
});
