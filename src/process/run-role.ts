/**
 * The one start-up and shutdown sequence of every role process (ingress, workers, media):
 * telemetry → config → logger → prepare → core → ready → serve, and on SIGTERM/SIGINT
 * drain → close core → flush telemetry, all inside SHUTDOWN_GRACE_MS (src/process/shutdown.ts).
 * Telemetry starts first so the instrumentations hook the modules before anything uses them; a
 * role's `prepare` checks what needs only the configuration (a policy file) before any
 * connection, so a bad file exits `EXIT.config` even while Redis is down.
 */
import type { Logger } from 'pino';
import { checkConfigFiles, loadConfig, type Config } from '../config.js';
import { createLogger } from '../logger.js';
import { createCore, type Core } from '../roles/core.js';
import { startTelemetry } from '../telemetry/sdk.js';
import { exitOnStartupError } from './fatal.js';
import { onShutdown, shutdownBudget, type ShutdownBudget } from './shutdown.js';

export type RoleName = 'ingress' | 'workers' | 'media';

export interface RoleContext {
  config: Config;
  logger: Logger;
  /** Connected and ready: Redis, the call runtime, the queues. */
  core: Core;
  /** Whether OpenTelemetry exports anything (traces or metrics); off, instrumentation is skipped. */
  telemetryEnabled: boolean;
}

/** A role that serves: what it does with its part of the shutdown budget. */
export interface Serving {
  /** Stop intake and finish the work in flight within `budget.delayMs + budget.drainMs`. */
  drain(budget: ShutdownBudget): Promise<void>;
}

export interface RoleDefinition<Prepared> {
  name: RoleName;
  /** Checks and loads that need only the configuration; runs before any connection. */
  prepare(config: Config): Promise<Prepared>;
  serve(context: RoleContext, prepared: Prepared): Promise<Serving>;
}

/** Runs `role` as this process; start-up failures exit through `exitOnStartupError`. */
export function runRole<Prepared>(role: RoleDefinition<Prepared>): void {
  start(role).catch(exitOnStartupError(role.name));
}

async function start<Prepared>(role: RoleDefinition<Prepared>): Promise<void> {
  const telemetry = startTelemetry({ role: role.name });
  const config = loadConfig();
  checkConfigFiles(config);
  const logger = createLogger(role.name, config.logLevel);
  const prepared = await role.prepare(config);
  const core = createCore(config, logger);
  await core.ready();
  const serving = await role.serve(
    { config, logger, core, telemetryEnabled: telemetry.enabled },
    prepared,
  );
  const budget = shutdownBudget(config);
  onShutdown(logger, budget.graceMs, async () => {
    await serving.drain(budget);
    await core.close();
    await telemetry.shutdown(budget.closeMs);
  });
}
