/**
 * The whole system in one test process: the simulator (HTTPS, trusted through
 * NODE_EXTRA_CA_CERTS from the global setup), the ingress on a real socket, the BullMQ
 * workers, and a Redis key prefix of the test's own.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { loadConfig, type Config } from '../../src/config.js';
import { createCore, type Core } from '../../src/roles/core.js';
import { stateName } from '../../src/calls/runtime.js';
import { localOrchestratorEnv } from '../../src/dev/local-env.js';
import { freePort } from '../../src/dev/local-redis.js';
import { startIngress, type Ingress } from '../../src/roles/ingress/compose.js';
import { startMediaRole, type MediaRole } from '../../src/roles/media/compose.js';
import { DEFAULT_POLICY, type AnswerPolicy } from '../../src/policy/policy.js';
import {
  generateSimulatorKeys,
  startSimulator,
  type SimulatorKeys,
  type PlaceCallOptions,
  type SimCall,
  type Simulator,
  type SimulatorOptions,
} from '@cr-orchestrator/teams-simulator';
import { startWorkers, type RunningWorkers } from '../../workers/compose.js';
import { testMetrics, type TestMetrics } from './metrics.js';
import { deleteByPrefix, plainRedis, testRedisUrl, uniquePrefix } from './redis.js';

export const BOT_APP_ID = '4b1b9c1e-8d3a-4cde-9a43-5b8f0f0c1d2e';
export const BOT_APP_SECRET = 'test-secret-not-real';

export interface System {
  sim: Simulator;
  core: Core;
  ingress: Ingress;
  /** In-process workers (absent when the test runs them as separate processes). */
  workers: RunningWorkers | undefined;
  config: Config;
  /** The environment the configuration was read from (for role processes a test spawns). */
  env: Record<string, string>;
  prefix: string;
  /** The in-process media role, when `media.inProcess`. */
  media: MediaRole | undefined;
  /** The in-process media role's instruments (cr.media.*, cr.recording.*). */
  metrics: TestMetrics;
  logger: Logger;
  close(): Promise<void>;
}

export interface SystemOptions {
  name: string;
  policy?: AnswerPolicy;
  env?: Record<string, string>;
  sim?: Partial<SimulatorOptions>;
  /** Start BullMQ workers in this process. @default true */
  withWorkers?: boolean;
  /**
   * Configure the media endpoint (ECDSA test certificate, a free port, a temporary
   * RECORDINGS_DIR) and let the simulator's media peer connect to it; `inProcess` also starts
   * the media role here (otherwise a test runs it as a process). @default false
   */
  media?: false | { inProcess: boolean };
  /** The logger of every role started here. @default pino at TEST_LOG_LEVEL, else silent */
  logger?: Logger;
}

export function testTls(): { cert: string; key: string } {
  const certFile = process.env.TEST_CERT_FILE;
  const keyFile = process.env.TEST_KEY_FILE;
  if (!certFile || !keyFile)
    throw new Error('test/global-setup.ts did not create the test certificate');
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

export async function mediaEnv(): Promise<Record<string, string>> {
  const certFile = process.env.TEST_MEDIA_CERT_FILE;
  const keyFile = process.env.TEST_MEDIA_KEY_FILE;
  if (!certFile || !keyFile)
    throw new Error('test/global-setup.ts did not create the media certificate');
  return {
    MEDIA_TLS_CERT_FILE: certFile,
    MEDIA_TLS_KEY_FILE: keyFile,
    MEDIA_PUBLIC_HOST: 'localhost',
    MEDIA_HOST: '127.0.0.1',
    MEDIA_PORT: String(await freePort()),
    RECORDINGS_DIR: await mkdtemp(join(tmpdir(), 'cr-recordings-')),
    MEDIA_HEARTBEAT_MS: '200',
    MEDIA_RECONNECT_WINDOW_MS: '3000',
  };
}

let keys: Promise<SimulatorKeys> | undefined;
/**
 * One pair of signing keys per test process, shared by its simulators: two fresh RSA keys per
 * simulator were ≈ 0.3 s of CPU each time, over a hundred times a run.
 */
export const testSimulatorKeys = (): Promise<SimulatorKeys> => (keys ??= generateSimulatorKeys());

/**
 * The simulator as the tests run it: the test bot's identity, the test certificate, the
 * process's signing keys.
 */
export function testSimulator(
  webhookUrl: string,
  options: Partial<SimulatorOptions> = {},
): Promise<Simulator> {
  return startSimulator({
    botAppId: BOT_APP_ID,
    botAppSecret: BOT_APP_SECRET,
    webhookUrl,
    tls: testTls(),
    keys: testSimulatorKeys(),
    ...options,
  });
}

/** The environment of orchestrator processes that talk to `sim` and the test Redis. */
export function testOrchestratorEnv(
  sim: Simulator,
  redisKeyPrefix: string,
  port: number,
): Record<string, string> {
  return localOrchestratorEnv({
    sim,
    botAppId: BOT_APP_ID,
    botAppSecret: BOT_APP_SECRET,
    redisUrl: testRedisUrl(),
    redisKeyPrefix,
    port,
  });
}

export async function startSystem(options: SystemOptions): Promise<System> {
  const prefix = uniquePrefix(options.name);
  const logger = options.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const sim = await testSimulator('http://127.0.0.1:9/not-yet', options.sim);
  const mediaVars = options.media ? await mediaEnv() : {};
  // The ingress port last, just before the ingress listens: test files run side by side, and a
  // free port found early may be taken by another process in the meantime.
  const port = await freePort();
  sim.webhookUrl = `http://127.0.0.1:${port}/api/calling`;
  const env: Record<string, string> = {
    ...testOrchestratorEnv(sim, prefix, port),
    LOG_LEVEL: 'silent',
    ...mediaVars,
    ...options.env,
  };
  const config = loadConfig(env);
  const policy = options.policy ?? DEFAULT_POLICY;
  const core = createCore(config, logger);
  await core.ready();
  const ingress = await startIngress(config, core, policy, logger);
  const workers =
    options.withWorkers === false ? undefined : startWorkers(core, config, policy, logger);
  if (workers) await Promise.all(workers.workers.map((w) => w.waitUntilReady()));
  const metrics = testMetrics();
  const media =
    options.media && options.media.inProcess
      ? await startMediaRole(config, core, logger, metrics.meterProvider)
      : undefined;
  let closed: Promise<void> | undefined;
  return {
    sim,
    core,
    ingress,
    workers,
    config,
    env,
    prefix,
    media,
    metrics,
    logger,
    close: () =>
      (closed ??= (async () => {
        await media?.close();
        await metrics.close();
        await workers?.close(2000);
        await ingress.close();
        await sim.close();
        await core.queues.graph.obliterate({ force: true }).catch(() => undefined);
        await core.queues.timers.obliterate({ force: true }).catch(() => undefined);
        await core.close();
        // a cluster belongs to its test, which throws it away; SCAN would see one node only
        if (!config.redisCluster) {
          const redis = plainRedis();
          await deleteByPrefix(redis, prefix);
          await redis.quit();
        }
        if (options.media) await rm(config.recordingsDir, { recursive: true, force: true });
      })()),
  };
}

/** A call placed through the simulator (1:1 unless `opts` say otherwise), once established. */
export async function placeEstablished(
  system: System,
  opts: PlaceCallOptions = {},
): Promise<SimCall> {
  const call = await system.sim.placeCall({ kind: 'p2p', ...opts });
  await call.waitFor('established', 8000);
  await callReaches(system, call.id, 'established');
  return call;
}

/** Poll `check` until it returns a value other than undefined, or fail after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 8000,
  what = 'condition',
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** True when the dotted state name contains `state` as whole segments ('established' matches
 * 'live.established.recording'). */
export const inState = (name: string, state: string): boolean => `.${name}.`.includes(`.${state}.`);

/** The call, once its state is (or is inside) `state`. */
export async function callReaches(system: System, callId: string, state: string, timeoutMs = 8000) {
  return eventually(
    async () => {
      const call = await system.core.runtime.getCall(callId);
      return call && inState(stateName(call.snapshot), state) ? call : undefined;
    },
    timeoutMs,
    `call ${callId} to reach ${state}`,
  );
}
