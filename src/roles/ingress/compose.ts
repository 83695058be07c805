/**
 * The ingress role composed: the Hono app served by @hono/node-server, wired to the call runtime.
 * Used by `src/roles/ingress/main.ts`, the demo and the tests.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Core } from '../core.js';
import { createApp, type Readiness } from '../../http/app.js';
import { shutdownBudget, type ShutdownBudget } from '../../process/shutdown.js';
import { createTeamsTokenVerifier } from '../../http/teams-auth.js';
import type { AnswerPolicy } from '../../policy/policy.js';
import { observeActiveCalls, rosterCutCounter } from '../../telemetry/index.js';
import { connectRedis } from '../../redis/client.js';
import { createCallReader } from '../../admin/call-view.js';
import { listCalls } from '../../admin/call-list.js';
import { createTransitionStreams } from '../../admin/transition-streams.js';

export interface Ingress {
  readonly url: string;
  readonly server: ServerType;
  /**
   * Readiness goes 503 (load balancers stop sending) for `budget.delayMs`, then the server stops
   * accepting; requests still open after `budget.drainMs` are cut. @default from `config`
   */
  close(budget?: ShutdownBudget): Promise<void>;
}

export async function startIngress(
  config: Config,
  core: Core,
  policy: AnswerPolicy,
  logger: Logger,
  options: { traced?: boolean } = {},
): Promise<Ingress> {
  let draining = false;
  const verifier = createTeamsTokenVerifier({
    openIdConfigUrl: config.teamsOpenIdConfigUrl,
    issuers: config.teamsTokenIssuers,
    audience: config.botAppId,
    // once per change, not once per refused notification
    onKeyHealth: (health) =>
      health.ok
        ? logger.info('Teams signing keys available again')
        : logger.error({ reason: health.reason }, 'Teams signing keys unavailable'),
  });
  const readiness = async (): Promise<Readiness> => {
    const checks: Readiness['checks'] = { draining };
    try {
      checks.redis = (await core.redis.ping()) === 'PONG';
      checks.workers = await core.queues.graph.getWorkersCount();
      const active = await core.runtime.activeCallCount();
      checks.activeCalls = active;
      if (policy.maxActiveCalls !== undefined)
        checks.capacityLeft = Math.max(0, policy.maxActiveCalls - active);
    } catch (error) {
      checks.redis = false;
      checks.error = (error as Error).message;
    }
    // Capacity is reported, not gated on: a full recorder must still take invites (to reject
    // them `busy`, so its paired recorder answers) and the callbacks of the calls it holds.
    // without Teams' keys every notification would be refused: not ready, and say why
    const keys = await verifier.checkKeys();
    checks.teamsKeys = keys.ok ? true : (keys.reason ?? 'unavailable');
    const ready = !draining && checks.redis === true && Number(checks.workers) > 0 && keys.ok;
    return { ready, checks };
  };
  const reader = createCallReader({
    redis: core.redis,
    prefix: config.redisKeyPrefix,
    store: core.store,
    jaegerUiUrl: config.jaegerUiUrl,
  });
  // each open event stream blocks on a connection of its own, with no command timeout
  const streams = createTransitionStreams({
    prefix: config.redisKeyPrefix,
    heartbeatMs: config.adminHeartbeatMs,
    connect: () =>
      connectRedis(config.redisUrl, { cluster: config.redisCluster, maxRetriesPerRequest: 1 }),
  });
  const app = createApp({
    runtime: core.runtime,
    policy,
    answerDeadlineMs: config.answerDeadlineMs,
    callSettings: {
      keepAliveIntervalMs: config.keepAliveIntervalMs,
      mediaArrivalTimeoutMs: config.mediaArrivalTimeoutMs,
      mediaStopTimeoutMs: config.mediaStopTimeoutMs,
      effectBudgetMs: config.effectBudgetMs,
      rosterMaxParticipants: config.rosterMaxParticipants,
    },
    rosterMode: config.rosterMode,
    rosterLimits: {
      maxPerNotification: config.rosterMaxPerNotification,
      maxIdLength: config.rosterMaxIdLength,
    },
    rosterCut: rosterCutCounter(),
    verifier,
    maxBodyBytes: config.maxBodyBytes,
    adminToken: config.adminToken,
    adminApi: {
      reader,
      list: (filter, options) =>
        listCalls(core.redis, config.redisKeyPrefix, reader, filter, options),
      streams,
      maxStreams: config.adminMaxEventStreams,
      rateLimitPerMinute: config.adminRateLimitPerMinute,
      jaegerUiUrl: config.jaegerUiUrl,
    },
    consoleDir: config.consoleDir,
    readiness,
    logger,
    ...(options.traced === undefined ? {} : { traced: options.traced }),
  });
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve(
      {
        fetch: app.fetch,
        port: config.port,
        hostname: config.host,
        // slow or half-open clients are cut off: headers within HTTP_HEADERS_TIMEOUT_MS, the
        // whole request within HTTP_REQUEST_TIMEOUT_MS, checked every second (Node's default
        // check runs every 30 s, which would let a slowloris hold a socket that long)
        serverOptions: {
          headersTimeout: config.httpHeadersTimeoutMs,
          requestTimeout: Math.max(config.httpRequestTimeoutMs, config.httpHeadersTimeoutMs),
          connectionsCheckingInterval: Math.min(1000, config.httpHeadersTimeoutMs),
        },
      },
      () => resolve(s),
    );
    s.once('error', reject);
  });
  server.on('error', (err) => logger.error({ err }, 'ingress server error'));
  const stopObserving = observeActiveCalls(() => core.runtime.activeCallCount());
  const sweeper = core.sweepOutbox(config);
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    server,
    close: (budget = shutdownBudget(config)) =>
      (closed ??= (async () => {
        // readiness 503 first, and for SHUTDOWN_DELAY_MS the server still takes what a load
        // balancer sends before it notices; then stop intake and let in-flight requests finish
        draining = true;
        if (budget.delayMs > 0) await new Promise((r) => setTimeout(r, budget.delayMs));
        // open event streams never finish by themselves: end them so the drain does not wait,
        // and close their sockets once the responses ended (they would idle until keep-alive's
        // timeout otherwise)
        await streams.closeAll();
        setTimeout(() => (server as Server).closeIdleConnections(), 50).unref();
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => (server as Server).closeAllConnections(), budget.drainMs);
          force.unref();
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
        });
        stopObserving();
        await sweeper.close();
      })()),
  };
}
