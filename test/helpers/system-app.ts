/**
 * The ingress app of a test system as a value, for `app.request()`: the system's runtime and
 * call settings, the default policy, a verifier of the test's choosing, always ready.
 */
import { pino, type Logger } from 'pino';
import { createApp } from '../../src/http/app.js';
import type { TeamsTokenVerifier } from '../../src/http/teams-auth.js';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';
import type { System } from './system.js';

export function systemApp(
  system: System,
  verifier: TeamsTokenVerifier,
  logger: Logger = pino({ level: 'silent' }),
): ReturnType<typeof createApp> {
  return createApp({
    runtime: system.core.runtime,
    policy: DEFAULT_POLICY,
    answerDeadlineMs: 5000,
    callSettings: {
      keepAliveIntervalMs: system.config.keepAliveIntervalMs,
      mediaArrivalTimeoutMs: system.config.mediaArrivalTimeoutMs,
      effectBudgetMs: system.config.effectBudgetMs,
    },
    rosterMode: 'full',
    verifier,
    maxBodyBytes: 256 * 1024,
    readiness: () => Promise.resolve({ ready: true, checks: {} }),
    logger,
  });
}
