/**
 * The orchestrator as a benchmark runs it: ingress replicas and worker processes (real
 * processes, see roles.ts) on one key prefix, a simulator spreading webhook deliveries over the
 * replicas round-robin, real Redis. Callbacks go to "the load balancer": replica 0's URL.
 */
import { freePort } from '../../../src/dev/local-redis.js';
import type { Simulator, SimulatorOptions } from '@cr-orchestrator/teams-simulator';
import { deleteByPrefix, plainRedis, uniquePrefix } from '../../helpers/redis.js';
import { testOrchestratorEnv, testSimulator } from '../../helpers/system.js';
import { redisPid } from './machine.js';
import { ready, startRole, type RoleProcess } from './roles.js';

export interface BenchSystemOptions {
  name: string;
  redisUrl: string;
  /** @default 2 */
  replicas?: number;
  /** @default 1 */
  workers?: number;
  /** Added to (and overriding) every role's environment. */
  env?: Record<string, string>;
  sim?: Partial<SimulatorOptions>;
}

export interface BenchSystem {
  sim: Simulator;
  prefix: string;
  ingressUrls: string[];
  /** The environment every role was started with (PORT aside). */
  env: Record<string, string>;
  roles: RoleProcess[];
  /** Processes to meter: bench, each role, Redis (when local). */
  pids: Record<string, number | undefined>;
  /** Start another role process on the same configuration. */
  addRole(name: string, kind: 'ingress' | 'worker', port?: number): RoleProcess;
  close(): Promise<void>;
}

export const INGRESS_MAIN = 'src/roles/ingress/main.ts';
export const WORKERS_MAIN = 'workers/main.ts';

export async function startBenchSystem(o: BenchSystemOptions): Promise<BenchSystem> {
  const prefix = uniquePrefix(`bench-${o.name}`);
  const ports: number[] = [];
  for (let i = 0; i < (o.replicas ?? 2); i += 1) ports.push(await freePort());
  const url = (port: number) => `http://127.0.0.1:${port}`;
  const ingressUrls = ports.map(url);
  const sim = await testSimulator(`${ingressUrls[0]}/api/calling`, {
    webhookUrls: ingressUrls.map((u) => `${u}/api/calling`),
    ...o.sim,
  });
  const env: Record<string, string> = {
    ...testOrchestratorEnv(sim, prefix, ports[0]!),
    REDIS_URL: o.redisUrl,
    PUBLIC_BASE_URL: ingressUrls[0]!,
    LOG_LEVEL: 'error',
    CALL_RETENTION_MS: '60000',
    RECORD_RETENTION_MS: '600000',
    ...o.env,
  };
  const roles: RoleProcess[] = [];
  const addRole = (name: string, kind: 'ingress' | 'worker', port?: number): RoleProcess => {
    const role =
      kind === 'ingress'
        ? startRole(name, INGRESS_MAIN, { ...env, PORT: String(port) })
        : startRole(name, WORKERS_MAIN, env);
    roles.push(role);
    return role;
  };
  ports.forEach((port, i) => addRole(`ingress-${i}`, 'ingress', port));
  for (let i = 0; i < (o.workers ?? 1); i += 1) addRole(`worker-${i}`, 'worker');
  const close = async () => {
    await Promise.all(roles.map((r) => r.stop()));
    await sim.close();
    const redis = plainRedis();
    await deleteByPrefix(redis, prefix);
    await redis.quit();
  };
  try {
    await Promise.all(ingressUrls.map((u) => ready(u)));
  } catch (error) {
    await close();
    throw error;
  }
  const redis = await redisPid(o.redisUrl);
  return {
    sim,
    prefix,
    ingressUrls,
    env,
    roles,
    get pids() {
      return {
        bench: process.pid,
        ...Object.fromEntries(roles.map((r) => [r.name, r.child.pid])),
        redis,
      };
    },
    addRole,
    close,
  };
}
